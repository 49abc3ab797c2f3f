package dev.devmem.ffm.bindd;

import dev.devmem.ffm.testing.TestNetns;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A client killed with SIGKILL while it holds a binding leaves nothing bound: the kernel closes its
 * end of the connection, the daemon reads the end of the stream and releases the binding. Checked
 * from outside the client: the daemon's STATS answer, the queue's owner on the daemon's control
 * plane, and the daemon's open descriptors (the dmabuf it allocated is closed).
 *
 * <p>Over the emulated NIC's control plane, because this host's kernel refuses every bind (no
 * devmem NIC), so only there can a client hold a binding to be killed with.
 */
class BinderKillTest {

    @Test
    void aClientKilledWhileHoldingABindingLeavesNothingBound() throws Exception {
        TestNetns.assumeCapable(); // root, to start a client as nobody
        Unprivileged.assumeSetpriv();
        Path dir = Unprivileged.sharedDirectory();
        List<String> log = Collections.synchronizedList(new ArrayList<>());
        BinderConfig config = BinderConfig.of(dir.resolve("bindd.sock")).withSocketMode(0666)
                .withAllowUids(Set.of(Unprivileged.NOBODY)).withEmulatedNic(BinderEmulatedTest.NIC);
        try (BinderDaemon daemon = BinderDaemon.start(config, log::add)) {
            EmulatedBinder plane = (EmulatedBinder) daemon.binder();
            long dmabufsBefore = daemonDmabufs();
            Process client = Unprivileged.start(daemon.socket().toString(), "hold", "emu0", "1");
            try {
                Map<String, String> r = readUntilBound(client);
                assertThat(r).containsEntry("result", "bound").containsEntry("uid", "65534");
                assertThat(daemon.stats().bindings()).isEqualTo(1);
                assertThat(BinderLease.stats(daemon.socket()).bindings()).isEqualTo(1);
                assertThat(plane.nic().queueDmabuf(1)).as("queue 1 is taken").isNotZero();
                assertThat(daemonDmabufs()).as("the dmabuf the daemon allocated").isEqualTo(dmabufsBefore + 1);
            } finally {
                client.destroyForcibly(); // SIGKILL
                client.waitFor(1, TimeUnit.MINUTES);
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (daemon.stats().bindings() != 0 && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertThat(BinderLease.stats(daemon.socket()).bindings()).as("released with the connection").isZero();
            assertThat(plane.nic().queueDmabuf(1)).as("queue 1 is free again").isZero();
            assertThat(plane.nic().liveBindings()).isEmpty();
            assertThat(daemonDmabufs()).as("the allocated dmabuf is closed").isEqualTo(dmabufsBefore);
            assertThat(log).anyMatch(l -> l.contains("released: its connection ended"));
        } finally {
            Files.deleteIfExists(dir.resolve("bindd.sock"));
            Files.deleteIfExists(dir);
        }
    }

    private static Map<String, String> readUntilBound(Process p) throws IOException {
        StringBuilder out = new StringBuilder();
        BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            out.append(line).append('\n');
            if (line.startsWith("id=")) {
                break;
            }
        }
        return Unprivileged.parse(out.toString());
    }

    /** Memfds the daemon allocated as dmabufs and still holds open. */
    private static long daemonDmabufs() throws IOException {
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.map(p -> {
                try {
                    return Files.readSymbolicLink(p).toString();
                } catch (IOException e) {
                    return "";
                }
            }).filter(s -> s.startsWith("/memfd:devmem-bindd-dmabuf")).count();
        }
    }
}
