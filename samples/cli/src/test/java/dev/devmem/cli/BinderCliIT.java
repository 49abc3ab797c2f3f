package dev.devmem.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.devmem.ffm.bindd.BinderDaemon;
import dev.devmem.ffm.testing.HostTools;
import dev.devmem.ffm.testing.TestNetns;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code devmem recv --binder} and {@code devmem send --binder} as separate processes run as
 * {@code nobody} without any capability ({@code setpriv}), binding through a {@code devmem bindd}
 * process run as root: over the emulated NIC, real loopback TCP bytes are received and validated end
 * to end; on the Linux backend in a test namespace, the kernel's own refusal for a veth reaches the
 * command through the daemon and is printed exactly as an in-process bind prints it.
 */
class BinderCliIT {
    private static final Path ROOT = Path.of(System.getProperty("user.dir")).resolve("../..").normalize();
    private static final Path JAR = ROOT.resolve("samples/cli/target/devmem.jar");
    private final List<Process> started = new ArrayList<>();
    private final List<Path> cleanup = new ArrayList<>();

    @BeforeAll
    static void canRunAsNobody() {
        assertThat(JAR).as("built by the package phase").exists();
        TestNetns.assumeCapable(); // root, to start the commands as nobody
        HostTools.assumeOnPath("setpriv");
        try {
            Process p = new ProcessBuilder(asNobody(List.of("test", "-r", JAR.toString()))).start();
            boolean readable = p.waitFor(1, TimeUnit.MINUTES) && p.exitValue() == 0;
            if (!readable) {
                System.out.println("SKIPPED (BinderCliIT): nobody cannot read " + JAR);
            }
            Assumptions.assumeTrue(readable, "nobody cannot read " + JAR);
        } catch (java.io.IOException | InterruptedException e) {
            Assumptions.abort("cannot run setpriv: " + e);
        }
    }

    @AfterEach
    void stop() throws Exception {
        for (Process p : started) {
            p.destroyForcibly();
            p.waitFor(1, TimeUnit.MINUTES);
        }
        for (Path p : cleanup.reversed()) {
            Files.deleteIfExists(p);
        }
    }

    /** The command on the built jar in a JVM of its own (bin/devmem would try to rebuild it as nobody). */
    private static List<String> devmem(String... args) {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:-UsePerfData", "-XX:TieredStopAtLevel=1", "--enable-native-access=ALL-UNNAMED", "-jar",
                JAR.toString()));
        cmd.addAll(List.of(args));
        return cmd;
    }

    private static List<String> asNobody(List<String> command) {
        List<String> cmd = new ArrayList<>(List.of("setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                "--inh-caps=-all", "--"));
        cmd.addAll(command);
        return cmd;
    }

    private CliSubprocessIT.Proc start(List<String> command) throws Exception {
        CliSubprocessIT.Proc p = new CliSubprocessIT.Proc(command);
        started.add(p.process);
        return p;
    }

    /** A directory nobody may enter, for the daemon's socket. */
    private Path socketIn() throws Exception {
        Path dir = Files.createTempDirectory("binder-cli-it-", PosixFilePermissions.asFileAttribute(
                PosixFilePermissions.fromString("rwxr-xr-x")));
        cleanup.add(dir);
        Path socket = dir.resolve("bindd.sock");
        cleanup.add(socket);
        return socket;
    }

    private static void awaitSocket(CliSubprocessIT.Proc daemon, Path socket) throws InterruptedException {
        long deadline = System.nanoTime() + Cli.TIMEOUT.toNanos();
        while (!Files.exists(socket)) {
            assertThat(daemon.process.isAlive()).as("bindd is running: %s", daemon.err).isTrue();
            assertThat(System.nanoTime()).as("bindd listens").isLessThan(deadline);
            Thread.sleep(10);
        }
    }

    private static String stopDaemon(CliSubprocessIT.Proc daemon) throws Exception {
        assertThat(new ProcessBuilder("kill", "-TERM", Long.toString(daemon.process.pid())).start().waitFor()).isZero();
        assertThat(daemon.process.waitFor(Cli.TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)).isTrue();
        daemon.errDone.get(1, TimeUnit.MINUTES);
        return daemon.err.toString();
    }

    @Test
    void unprivilegedRecvAndSendBindTheEmulatedNicThroughTheDaemonAndEveryByteArrives() throws Exception {
        long bytes = 16L << 20;
        Path socket = socketIn();
        CliSubprocessIT.Proc daemon = start(devmem("bindd", "--socket", socket.toString(), "--emulated",
                "--allow-uid", "nobody", "--mode", "0666"));
        awaitSocket(daemon, socket);
        CliSubprocessIT.Proc recv = start(asNobody(devmem("recv", "--listen", "127.0.0.1:0", "--binder",
                socket.toString(), "--dmabuf", "emulated", "--dmabuf-size", "8M", "--validate", "7", "--bytes", "16M",
                "--json", "--progress", "never")));
        int port = recv.awaitListeningPort();
        CliSubprocessIT.Result send = start(asNobody(devmem("send", "--connect", "127.0.0.1:" + port, "--bytes", "16M",
                "--dmabuf", "emulated", "--dmabuf-size", "4M", "--binder", socket.toString(), "--json", "--progress",
                "never"))).await();
        CliSubprocessIT.Result r = recv.await();
        assertThat(send.exit()).as(send.toString()).isZero();
        assertThat(r.exit()).as(r.toString()).isZero();
        JsonNode j = r.json();
        assertThat(j.get("bytes").asLong()).isEqualTo(bytes);
        assertThat(j.get("validation").get("bytesValidated").asLong()).isEqualTo(bytes);
        assertThat(j.get("validation").get("everyByte").asBoolean()).isTrue();
        assertThat(j.get("frags").get("dmabuf").asLong()).as("device-memory frags, not a copy").isPositive();
        assertThat(j.get("tokens").get("outstanding").asLong()).isZero();
        assertThat(r.err()).contains("devmem recv: binding through devmem bindd at " + socket);
        JsonNode s = send.json();
        assertThat(s.get("mode").asText()).isEqualTo("devmem");
        assertThat(s.get("tx").get("completedBytes").asLong()).isEqualTo(bytes);
        assertThat(send.err()).contains("devmem send: binding through devmem bindd at " + socket);

        BinderDaemon.Stats stats = BinderDaemon.statsOf(socket);
        long deadline = System.nanoTime() + Cli.TIMEOUT.toNanos();
        while ((stats.bindings() != 0 || stats.connections() > 1) && System.nanoTime() < deadline) {
            Thread.sleep(10);
            stats = BinderDaemon.statsOf(socket);
        }
        assertThat(stats.bindings()).as("both bindings ended with their commands: %s", stats).isZero();
        assertThat(stats.binds()).as("%s", stats).isEqualTo(2);
        assertThat(stats.denied() + stats.malformed() + stats.refused()).isZero();
        String log = stopDaemon(daemon);
        assertThat(log).containsPattern("bind-rx emu0 rx \\[0] for pid \\d+ uid 65534 ")
                .containsPattern("bind-tx emu0 for pid \\d+ uid 65534 ")
                .contains("released: its connection ended");
    }

    @Test
    void onTheLinuxBackendTheKernelsRefusalComesThroughTheDaemonAsInProcess() throws Exception {
        HostTools.assumeOnPath("ethtool");
        try (TestNetns ns = TestNetns.create()) {
            Path socket = socketIn();
            CliSubprocessIT.Proc daemon = start(ns.execCommand(devmem("bindd", "--socket", socket.toString(),
                    "--allow-uid", "nobody", "--mode", "0666").toArray(String[]::new)));
            awaitSocket(daemon, socket);
            String features = ns.exec("ethtool", "-k", "va");
            // an inherited fd as the dmabuf (fd:3, passed on to the daemon with SCM_RIGHTS): bind-rx and
            // bind-tx look at the device first, so the kernel itself answers for veth
            for (String[] c : new String[][] {
                    {"recv", "--listen", "127.0.0.1:0", "--dmabuf", "fd:3", "--iface", "va", "--queues", "0"},
                    {"send", "--connect", "127.0.0.1:9", "--bytes", "1M", "--dmabuf", "fd:3", "--iface", "va"},
                    {"recv", "--listen", "127.0.0.1:5201", "--dmabuf", "fd:3", "--iface", "va", "--queues", "1",
                            "--setup-nic"}}) {
                String plain = "exec 3</dev/null; exec " + String.join(" ", devmem(c));
                CliSubprocessIT.Result direct = start(ns.execCommand("bash", "-c", plain)).await();
                List<String> via = new ArrayList<>(List.of(c));
                via.addAll(List.of("--binder", socket.toString()));
                List<String> bash = asNobody(List.of("bash", "-c", "exec 3</dev/null; exec "
                        + String.join(" ", devmem(via.toArray(String[]::new)))));
                CliSubprocessIT.Result r = start(ns.execCommand(bash.toArray(String[]::new))).await();
                assertThat(r.exit()).as(r.toString()).isEqualTo(ExitCodes.UNSUPPORTED).isEqualTo(direct.exit());
                List<String> lines = r.err().lines().toList();
                assertThat(lines).as(r.toString()).hasSize(2);
                assertThat(lines.get(0)).startsWith("devmem " + c[0] + ": binding").endsWith("through devmem bindd at "
                        + socket);
                assertThat(lines.get(1)).as("exactly what binding in-process as root prints")
                        .isEqualTo(direct.err().strip());
                System.out.println("devmem " + String.join(" ", via) + " as nobody -> " + lines.get(1));
            }
            String log = stopDaemon(daemon);
            assertThat(log).containsPattern("bind-rx va for pid \\d+ uid 65534 .* refused: netdev bind-rx failed: "
                    + "EOPNOTSUPP").containsPattern("bind-tx va for pid \\d+ uid 65534 .* refused: .*"
                    + "Driver does not support netmem TX")
                    .containsPattern("NIC setup of va rx \\[1] flow to 127.0.0.1:5201 for pid \\d+ uid 65534 .* refused: "
                            + ".*setting TCP data split is not supported");
            assertThat(ns.exec("ethtool", "-k", "va")).as("nothing changed on the veth").isEqualTo(features);
        }
    }
}
