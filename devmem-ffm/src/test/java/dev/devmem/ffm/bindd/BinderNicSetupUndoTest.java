package dev.devmem.ffm.bindd;

import dev.devmem.api.Errno;
import dev.devmem.api.SyscallException;
import dev.devmem.ffm.nicsetup.NicSetupPlan;
import dev.devmem.ffm.testing.HostTools;
import dev.devmem.ffm.testing.TestNetns;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What the daemon does with a NIC setup that changed something: restore it when the client asks,
 * when its connection ends, and when the client is killed, after the client's bindings and newest
 * first. The devmem setup itself changes nothing on veth (the kernel refuses header split, its first
 * step: {@link BinderNicSetupKernelTest}), so this daemon is given a plan veth does take, two GRO
 * offloads switched on through the same ethtool netlink, state file and restore path; the kernel
 * really changes them, and the veth's settings are read back with the {@code ethtool} tool. The
 * bindings are the emulated NIC's (this kernel refuses every bind), held through the same daemon.
 */
class BinderNicSetupUndoTest {
    private static final List<String> CHANGES = List.of("rx-gro-list off -> on", "rx-udp-gro-forwarding off -> on");
    private static TestNetns ns;
    private static Path dir;
    private static Path stateDir;
    private static BinderDaemon daemon;
    private static final List<String> log = Collections.synchronizedList(new ArrayList<>());

    @BeforeAll
    static void start() throws Exception {
        ns = TestNetns.create();
        Unprivileged.assumeSetpriv();
        HostTools.assumeOnPath("ethtool");
        dir = Unprivileged.sharedDirectory();
        stateDir = Files.createTempDirectory("bindd-nic-state-");
        BinderConfig config = BinderConfig.of(dir.resolve("bindd.sock")).withSocketMode(0666)
                .withAllowUids(Set.of(Unprivileged.NOBODY)).withEmulatedNic(BinderEmulatedTest.NIC)
                .withNicStateDir(stateDir);
        NicConfigurer gro = r -> NicConfigurer.of(NicSetupPlan.on(r.ifname()).stateDir(stateDir)
                .feature("rx-gro-list", true).feature("rx-udp-gro-forwarding", true).apply());
        daemon = ns.call(() -> BinderDaemon.start(config, log::add, gro));
    }

    @AfterEach
    void offloadsBackOff() {
        for (String dev : List.of("va", "vb")) {
            HostTools.runIn(ns, "ethtool", "-K", dev, "rx-gro-list", "off", "rx-udp-gro-forwarding", "off");
        }
        log.clear();
    }

    @AfterAll
    static void stop() throws IOException {
        if (daemon != null) {
            daemon.close();
        }
        if (ns != null) {
            ns.close();
        }
        if (dir != null) {
            Files.deleteIfExists(dir.resolve("bindd.sock"));
            Files.deleteIfExists(dir);
        }
        if (stateDir != null) {
            try (Stream<Path> s = Files.walk(stateDir)) {
                for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    private static boolean on(String dev, String feature) {
        for (String line : ns.exec("ethtool", "-k", dev).lines().toList()) {
            String l = line.strip();
            if (l.startsWith(feature + ":")) {
                return l.substring(feature.length() + 1).strip().startsWith("on");
            }
        }
        throw new AssertionError(feature + " not in ethtool -k " + dev);
    }

    private static void awaitReleased() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while ((daemon.stats().nicSetups() != 0 || daemon.stats().bindings() != 0) && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertThat(daemon.stats().nicSetups()).as("%s", daemon.stats()).isZero();
        assertThat(daemon.stats().bindings()).isZero();
    }

    private static int indexOf(List<String> lines, String start, String contains) {
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).startsWith(start) && lines.get(i).contains(contains)) {
                return i;
            }
        }
        throw new AssertionError("no line starting '" + start + "' containing '" + contains + "' in " + lines);
    }

    @Test
    void anUnprivilegedClientsSetupChangesTheVethAndItsCloseRestoresIt() throws Exception {
        String before = ns.exec("ethtool", "-k", "va");
        Map<String, String> r = Unprivileged.run(daemon.socket().toString(), "nic", "va", "1", "10.9.0.1", "5201");
        assertThat(r).containsEntry("uid", "65534").containsEntry("result", "set")
                .containsEntry("changes", String.join("|", CHANGES)).containsEntry("restored", "yes");
        assertThat(ns.exec("ethtool", "-k", "va")).as("restored exactly").isEqualTo(before);
        assertThat(BinderNicSetupKernelTest.files(stateDir)).isEmpty();
        assertThat(log).anyMatch(l -> l.startsWith("NIC setup 1 of va for pid ") && l.endsWith("undone: the client asked"));
        awaitReleased();
    }

    @Test
    void aClientKilledAfterItsSetupAndBindingHasTheBindingReleasedThenTheSetupRestored() throws Exception {
        String before = ns.exec("ethtool", "-k", "va");
        Process client = Unprivileged.start(daemon.socket().toString(), "nichold", "va", "1", "10.9.0.1", "5201",
                "emu0", "1");
        try {
            Map<String, String> r = readUntil(client, "id=");
            assertThat(r).containsEntry("result", "set").containsEntry("changes", String.join("|", CHANGES));
            assertThat(on("va", "rx-gro-list")).as("the kernel applied the client's setup").isTrue();
            assertThat(on("va", "rx-udp-gro-forwarding")).isTrue();
            assertThat(BinderNicSetupKernelTest.files(stateDir)).as("recorded while in place").hasSize(1);
            assertThat(daemon.stats().nicSetups()).isEqualTo(1);
            assertThat(daemon.stats().bindings()).isEqualTo(1);
        } finally {
            client.destroyForcibly(); // SIGKILL: setup first, binding second, on two connections
            client.waitFor(1, TimeUnit.MINUTES);
        }
        awaitReleased();
        assertThat(ns.exec("ethtool", "-k", "va")).as("restored exactly").isEqualTo(before);
        assertThat(BinderNicSetupKernelTest.files(stateDir)).as("no state file left").isEmpty();
        List<String> lines = List.copyOf(log);
        int released = indexOf(lines, "binding ", "released: its connection ended");
        int undone = indexOf(lines, "NIC setup 1 of va for pid ", "undone: its connection ended");
        assertThat(released).as("the binding went first, though it was on another connection: %s", lines)
                .isLessThan(undone);
    }

    @Test
    void oneConnectionsLeasesEndBindingsFirstThenItsSetupsNewestFirst() throws Exception {
        String beforeA = ns.exec("ethtool", "-k", "va");
        String beforeB = ns.exec("ethtool", "-k", "vb");
        InetAddress local = InetAddress.getByName("10.9.0.1");
        try (UnixSocket s = UnixSocket.connect(daemon.socket())) {
            s.receiveTimeout(TimeUnit.SECONDS.toMillis(30));
            assertThat(NicWire.nicSet(call(s, NicWire.nicSetup("va", List.of(1), local, 5201))))
                    .isEqualTo(new NicWire.NicSet(1, "va", CHANGES));
            UnixSocket.Frame bound = callFrame(s, Wire.bindRx("emu0", Wire.DMABUF_EMULATED, 4096, null, List.of(0)));
            UnixSocket.closeAll(bound.fds());
            assertThat(Wire.bound(bound.body()).ifname()).isEqualTo("emu0");
            assertThat(NicWire.nicSet(call(s, NicWire.nicSetup("vb", List.of(1), local, 5202))))
                    .isEqualTo(new NicWire.NicSet(2, "vb", CHANGES));
            assertThat(on("va", "rx-gro-list") && on("vb", "rx-gro-list")).isTrue();
            assertThat(daemon.stats().nicSetups()).isEqualTo(2);
        }
        awaitReleased();
        assertThat(ns.exec("ethtool", "-k", "va")).isEqualTo(beforeA);
        assertThat(ns.exec("ethtool", "-k", "vb")).isEqualTo(beforeB);
        List<String> lines = List.copyOf(log);
        int binding = indexOf(lines, "binding ", "released: its connection ended");
        int second = indexOf(lines, "NIC setup 2 of vb ", "undone: its connection ended");
        int first = indexOf(lines, "NIC setup 1 of va ", "undone: its connection ended");
        assertThat(List.of(binding, second, first)).as("%s", lines).isSorted();
    }

    @Test
    void aSetupWhoseConnectionEndsFirstWaitsForTheSameProcesssBindingsOnItsOtherConnections() throws Exception {
        String before = ns.exec("ethtool", "-k", "va");
        UnixSocket setup = UnixSocket.connect(daemon.socket());
        try (UnixSocket binding = UnixSocket.connect(daemon.socket())) {
            setup.receiveTimeout(TimeUnit.SECONDS.toMillis(30));
            binding.receiveTimeout(TimeUnit.SECONDS.toMillis(30));
            assertThat(NicWire.nicSet(call(setup, NicWire.nicSetup("va", List.of(1), InetAddress.getByName("10.9.0.1"),
                    5201))).changes()).isEqualTo(CHANGES);
            UnixSocket.Frame bound = callFrame(binding, Wire.bindRx("emu0", Wire.DMABUF_EMULATED, 4096, null,
                    List.of(1)));
            UnixSocket.closeAll(bound.fds());
            setup.close(); // the setup's connection ends while this process still holds the binding
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (log.stream().noneMatch(l -> l.contains("wait for its 1 binding(s)") || l.contains("undone"))
                    && System.nanoTime() < deadline) {
                Thread.sleep(2);
            }
            assertThat(log).as("the setup waits instead of being undone under a binding")
                    .anyMatch(l -> l.startsWith("NIC setups of pid " + ProcessHandle.current().pid()
                            + " wait for its 1 binding(s) on other connections"))
                    .noneMatch(l -> l.contains("undone"));
            assertThat(on("va", "rx-gro-list")).as("still in place").isTrue();
        }
        awaitReleased();
        assertThat(ns.exec("ethtool", "-k", "va")).isEqualTo(before);
        List<String> lines = List.copyOf(log);
        assertThat(indexOf(lines, "binding ", "released: its connection ended"))
                .isLessThan(indexOf(lines, "NIC setup 1 of va ", "undone: its connection ended"));
    }

    @Test
    void aStoppingDaemonUndoesSetupsOnlyAfterEveryClientsBindingsAreReleased() throws Exception {
        // One process sets the veth up and holds a binding; another (this one) holds a binding too. When
        // the daemon stops, every connection ends at once: the setup must wait for the other process's
        // binding as well. This one's connection is kept busy inside a NIC setup request (a configurer
        // that blocks), so its binding is released only when the test lets it go.
        String before = ns.exec("ethtool", "-k", "va");
        Path socket = dir.resolve("bindd-stop.sock");
        List<String> stopLog = Collections.synchronizedList(new ArrayList<>());
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch letGo = new CountDownLatch(1);
        NicConfigurer configurer = r -> {
            if (r.ifname().equals("vb")) {
                entered.countDown();
                try {
                    letGo.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                throw new SyscallException("test configurer", Errno.EBUSY, "held back");
            }
            return NicConfigurer.of(NicSetupPlan.on(r.ifname()).stateDir(stateDir)
                    .feature("rx-gro-list", true).feature("rx-udp-gro-forwarding", true).apply());
        };
        BinderConfig config = BinderConfig.of(socket).withSocketMode(0666).withAllowUids(Set.of(Unprivileged.NOBODY))
                .withEmulatedNic(BinderEmulatedTest.NIC).withNicStateDir(stateDir);
        BinderDaemon stopping = ns.call(() -> BinderDaemon.start(config, stopLog::add, configurer));
        Process other = Unprivileged.start(socket.toString(), "nichold", "va", "1", "10.9.0.1", "5201", "emu0", "1");
        Thread closer = null;
        try (UnixSocket mine = UnixSocket.connect(socket)) {
            Map<String, String> r = readUntil(other, "id=");
            assertThat(r).containsEntry("result", "set").containsEntry("changes", String.join("|", CHANGES));
            mine.receiveTimeout(TimeUnit.SECONDS.toMillis(30));
            UnixSocket.Frame bound = callFrame(mine, Wire.bindRx("emu0", Wire.DMABUF_EMULATED, 4096, null, List.of(0)));
            UnixSocket.closeAll(bound.fds());
            int myBinding = Wire.bound(bound.body()).id();
            mine.writeFrame(NicWire.nicSetup("vb", List.of(1), InetAddress.getByName("10.9.0.1"), 5202), -1);
            assertThat(entered.await(30, TimeUnit.SECONDS)).as("the blocking setup request arrived").isTrue();
            assertThat(stopping.stats().bindings()).isEqualTo(2);

            closer = Thread.ofPlatform().name("daemon-close").start(stopping::close);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (stopLog.stream().noneMatch(l -> l.contains("the daemon is stopping") || l.contains("undone"))
                    && System.nanoTime() < deadline) {
                Thread.sleep(2);
            }
            assertThat(stopLog).as("the other process's setup waits for this process's binding")
                    // 1 or 2 bindings: the other process's own may still be on its way out
                    .anyMatch(l -> l.startsWith("NIC setups of pid " + other.pid() + " wait for ")
                            && l.endsWith(" binding(s) of any client to be released: the daemon is stopping"))
                    .noneMatch(l -> l.contains("undone"));
            assertThat(on("va", "rx-gro-list")).as("still in place under a binding").isTrue();

            letGo.countDown();
            closer.join(TimeUnit.SECONDS.toMillis(60));
            assertThat(closer.isAlive()).as("the daemon stopped").isFalse();
            List<String> lines = List.copyOf(stopLog);
            int mineReleased = indexOf(lines, "binding " + Integer.toUnsignedString(myBinding) + " ",
                    "released: its connection ended");
            int undone = indexOf(lines, "NIC setup 1 of va for pid " + other.pid(), "undone: its connection ended");
            assertThat(mineReleased).as("every binding went before the setup: %s", lines).isLessThan(undone);
            assertThat(ns.exec("ethtool", "-k", "va")).as("restored exactly").isEqualTo(before);
            assertThat(BinderNicSetupKernelTest.files(stateDir)).as("no state file left").isEmpty();
            assertThat(stopping.stats().bindings()).isZero();
            assertThat(stopping.stats().nicSetups()).isZero();
        } finally {
            letGo.countDown();
            if (closer != null) {
                closer.join(TimeUnit.SECONDS.toMillis(60));
            }
            stopping.close();
            other.destroyForcibly();
            other.waitFor(1, TimeUnit.MINUTES);
            Files.deleteIfExists(socket);
        }
    }

    private static byte[] call(UnixSocket s, byte[] frame) throws Exception {
        UnixSocket.Frame f = callFrame(s, frame);
        UnixSocket.closeAll(f.fds());
        return f.body();
    }

    private static UnixSocket.Frame callFrame(UnixSocket s, byte[] frame) throws Exception {
        s.writeFrame(frame, -1);
        UnixSocket.Frame f = s.readFrame();
        assertThat(f).as("an answer").isNotNull();
        if (Wire.type(f.body()) == Wire.ERROR) {
            throw new AssertionError(ErrorCodec.decode(f.body()));
        }
        return f;
    }

    private static Map<String, String> readUntil(Process p, String prefix) throws IOException {
        StringBuilder out = new StringBuilder();
        BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            out.append(line).append('\n');
            if (line.startsWith(prefix) || line.startsWith("result=refused")) {
                break;
            }
        }
        return Unprivileged.parse(out.toString());
    }
}
