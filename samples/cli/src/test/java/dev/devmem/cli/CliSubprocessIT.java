package dev.devmem.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.devmem.ffm.testing.TestNetns;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The command as users run it: {@code bin/devmem}, a separate JVM on the runnable jar that the package
 * phase has just built (this class runs in the integration-test phase, after it). Also the error paths
 * that need a network namespace of their own: the receiver binds on a setup thread, and a thread only
 * inherits a namespace from its creator, so the command runs under {@code ip netns exec}.
 */
class CliSubprocessIT {
    private static final Path ROOT = Path.of(System.getProperty("user.dir")).resolve("../..").normalize();
    private static final Path DEVMEM = ROOT.resolve("bin/devmem");
    private static final Pattern LISTENING = Pattern.compile("listening on 127\\.0\\.0\\.1:(\\d+) ");
    private static TestNetns netns;

    @BeforeAll
    static void jarIsBuilt() {
        assertThat(DEVMEM).isExecutable();
        assertThat(ROOT.resolve("samples/cli/target/devmem.jar")).as("built by the package phase").exists();
    }

    private static final List<Process> STARTED = new ArrayList<>();

    /** A failed test leaves no command behind (a recv waiting for a peer would wait forever). */
    @AfterEach
    void stopLeftovers() {
        for (Process p : STARTED) {
            p.destroyForcibly();
        }
        STARTED.clear();
    }

    @AfterAll
    static void deleteNamespace() {
        if (netns != null) {
            netns.close();
        }
    }

    record Result(int exit, String out, String err) {
        JsonNode json() throws IOException {
            return new ObjectMapper().readTree(out);
        }

        @Override
        public String toString() {
            return "exit " + exit + "\n--- stdout\n" + out + "--- stderr\n" + err;
        }
    }

    /** A started command, its stderr collected line by line as it comes. */
    static final class Proc {
        final Process process;
        final StringBuffer err = new StringBuffer();
        final CompletableFuture<String> out;
        final CompletableFuture<Void> errDone;

        Proc(List<String> command) throws IOException {
            process = new ProcessBuilder(command).start();
            STARTED.add(process);
            // Own threads, not the common pool: on a 2-core host it has one worker, and a reader blocked
            // until the process exits would starve the other stream's reader.
            out = new CompletableFuture<>();
            errDone = new CompletableFuture<>();
            Thread.ofPlatform().daemon().name("stdout-" + process.pid()).start(
                    () -> out.complete(readAll(process.getInputStream())));
            Thread.ofPlatform().daemon().name("stderr-" + process.pid()).start(() -> {
                try (InputStream in = process.getErrorStream()) {
                    byte[] buf = new byte[4096];
                    int n;
                    while ((n = in.read(buf)) > 0) {
                        err.append(new String(buf, 0, n, StandardCharsets.UTF_8));
                    }
                } catch (IOException ignored) {
                    // the process ended
                } finally {
                    errDone.complete(null);
                }
            });
        }

        int awaitListeningPort() throws InterruptedException {
            long deadline = System.nanoTime() + Cli.TIMEOUT.toNanos();
            while (System.nanoTime() < deadline) {
                Matcher m = LISTENING.matcher(err);
                if (m.find()) {
                    return Integer.parseInt(m.group(1));
                }
                if (!process.isAlive()) {
                    throw new AssertionError("ended before listening: " + err);
                }
                Thread.sleep(10);
            }
            throw new AssertionError("not listening: " + err);
        }

        Result await() throws Exception {
            if (!process.waitFor(Cli.TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly();
                throw new AssertionError("still running: " + err);
            }
            errDone.get();
            Result r = new Result(process.exitValue(), out.get(), err.toString());
            assertThat(r.err()).as("bin/devmem must not rebuild inside the build").doesNotContain("building the command");
            return r;
        }
    }

    static String readAll(InputStream in) {
        try (in) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }

    static List<String> devmem(String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(DEVMEM.toString());
        cmd.addAll(List.of(args));
        return cmd;
    }

    @Test
    void binDevmemRecvTakesTheKernelDocsNetcatPipeline() throws Exception {
        Netcat.assume();
        Proc recv = new Proc(devmem("recv", "--listen", "127.0.0.1:0", "--validate", "7", "--dmabuf", "emulated", "--json"));
        int port = recv.awaitListeningPort();
        assertThat(Netcat.run(Netcat.pipeline(true, "64M", port))).isZero();
        Result r = recv.await();
        assertThat(r.exit()).as(r.toString()).isZero();
        JsonNode j = r.json();
        assertThat(j.get("bytes").asLong()).isEqualTo(64L << 20);
        assertThat(j.get("validation").get("bytesValidated").asLong()).isEqualTo(64L << 20);
        assertThat(j.get("validation").get("everyByte").asBoolean()).isTrue();
        assertThat(j.get("frags").get("dmabuf").asLong()).isPositive();
        assertThat(j.get("tokens").get("outstanding").asLong()).isZero();
    }

    @Test
    void binDevmemSendIntoBinDevmemRecv() throws Exception {
        Proc recv = new Proc(devmem("recv", "--listen", "127.0.0.1:0", "--validate", "7"));
        int port = recv.awaitListeningPort();
        Result send = new Proc(devmem("send", "--connect", "127.0.0.1:" + port, "--bytes", "32M")).await();
        Result r = recv.await();
        assertThat(send.exit()).as(send.toString()).isZero();
        assertThat(send.out()).startsWith("send: 32.0 MiB (33554432 bytes) to 127.0.0.1:" + port);
        assertThat(r.exit()).as(r.toString()).isZero();
        assertThat(r.out()).startsWith("recv: 32.0 MiB (33554432 bytes) from 127.0.0.1:")
                .contains("validation  every byte right: 33554432 bytes, pattern 1..6 then 0x00");
    }

    @Test
    void binDevmemSendAsDevmemTxIntoBinDevmemRecv() throws Exception {
        long bytes = 64L << 20;
        Proc recv = new Proc(devmem("recv", "--listen", "127.0.0.1:0", "--validate", "7", "--json"));
        int port = recv.awaitListeningPort();
        Result send = new Proc(devmem("send", "--connect", "127.0.0.1:" + port, "--bytes", "64M", "--dmabuf", "emulated",
                "--dmabuf-size", "8M", "--slice", "123457", "--json")).await();
        Result r = recv.await();
        assertThat(send.exit()).as(send.toString()).isZero();
        assertThat(r.exit()).as(r.toString()).isZero();
        JsonNode j = r.json();
        assertThat(j.get("bytes").asLong()).isEqualTo(bytes);
        assertThat(j.get("validation").get("bytesValidated").asLong()).isEqualTo(bytes);
        assertThat(j.get("validation").get("everyByte").asBoolean()).isTrue();
        JsonNode s = send.json();
        assertThat(j.get("peer").asText()).isEqualTo(s.get("local").asText());
        assertThat(s.get("mode").asText()).isEqualTo("devmem");
        assertThat(s.get("devmemTx").asBoolean()).isTrue();
        assertThat(s.get("copyFallback").asBoolean()).isFalse();
        assertThat(s.get("bytes").asLong()).isEqualTo(bytes);
        JsonNode tx = s.get("tx");
        assertThat(tx.get("slices").asLong()).isEqualTo(bytes / 123457 + 1);
        assertThat(tx.get("completions").asLong()).isEqualTo(tx.get("sends").asLong());
        assertThat(tx.get("completedBytes").asLong()).isEqualTo(bytes);
        assertThat(tx.get("copiedCompletions").asLong()).isZero();
        assertThat(tx.get("inFlight").get("atEndBytes").asLong()).isZero();
        assertThat(send.err()).contains("devmem send: bound 8.0 MiB emulated dmabuf for TX as id ");
    }

    private static TestNetns netns() {
        if (netns == null) {
            netns = TestNetns.create();
        }
        return netns;
    }

    @Test
    void bindingADmabufOnLoopbackIsUnsupportedHereWithTheReasonOnOneLine() throws Exception {
        TestNetns ns = netns();
        Result r = new Proc(ns.execCommand(devmem("recv", "--listen", "127.0.0.1:0", "--dmabuf", "udmabuf",
                "--iface", "lo", "--queues", "0", "--validate", "7").toArray(String[]::new))).await();
        assertThat(r.exit()).as(r.toString()).isEqualTo(ExitCodes.UNSUPPORTED);
        assertThat(r.err().lines().toList()).as(r.toString()).hasSize(1);
        String line = r.err().strip();
        assertThat(line).startsWith("devmem recv: ");
        if (Files.exists(Path.of("/dev/udmabuf"))) {
            assertThat(line).as("the kernel's answer for lo").contains("EOPNOTSUPP");
        } else {
            assertThat(line).contains("udmabuf").contains("/dev/udmabuf does not exist");
        }
        assertThat(r.out()).isEmpty();
    }

    @Test
    void theKernelsRefusalToBindVethIsPrintedOnOneLineAsUnsupported() throws Exception {
        // No exporter works here, so hand the command an inherited fd (fd:3): bind-rx looks at the
        // device before the dmabuf, so the kernel itself answers (EOPNOTSUPP: veth has no queue API).
        TestNetns ns = netns();
        String command = "exec 3</dev/null; exec " + String.join(" ", devmem("recv", "--listen", "127.0.0.1:0",
                "--dmabuf", "fd:3", "--iface", "va", "--queues", "0"));
        Result r = new Proc(ns.execCommand("bash", "-c", command)).await();
        assertThat(r.exit()).as(r.toString()).isEqualTo(ExitCodes.UNSUPPORTED);
        assertThat(r.err().lines().toList()).as(r.toString()).hasSize(1);
        assertThat(r.err()).startsWith("devmem recv: ").contains("EOPNOTSUPP");
    }

    @Test
    void sendAsDevmemTxThroughAVethIsUnsupportedWithTheReasonOnOneLine() throws Exception {
        TestNetns ns = netns();
        Result r = new Proc(ns.execCommand(devmem("send", "--connect", "127.0.0.1:9", "--bytes", "1M",
                "--dmabuf", "udmabuf", "--iface", "va").toArray(String[]::new))).await();
        assertThat(r.exit()).as(r.toString()).isEqualTo(ExitCodes.UNSUPPORTED);
        assertThat(r.err().lines().toList()).as(r.toString()).hasSize(1);
        assertThat(r.err()).startsWith("devmem send: ").containsAnyOf("/dev/udmabuf does not exist",
                "Driver does not support netmem TX");
        assertThat(r.out()).isEmpty();
        // an inherited fd: bind-tx checks the driver before the dmabuf, so the kernel itself answers
        String command = "exec 3</dev/null; exec " + String.join(" ", devmem("send", "--connect", "127.0.0.1:9",
                "--bytes", "1M", "--dmabuf", "fd:3", "--iface", "va"));
        Result k = new Proc(ns.execCommand("bash", "-c", command)).await();
        assertThat(k.exit()).as(k.toString()).isEqualTo(ExitCodes.UNSUPPORTED);
        assertThat(k.err().lines().toList()).as(k.toString()).hasSize(1);
        assertThat(k.err()).startsWith("devmem send: netdev bind-tx failed: EOPNOTSUPP")
                .contains("Driver does not support netmem TX");
    }

    @Test
    void everyExporterThisHostLacksIsUnsupportedWithWhatIsMissing() throws Exception {
        TestNetns ns = netns();
        for (String[] c : new String[][] {{"dma-heap", "/dev/dma_heap/system"}, {"cuda", "libcuda"}}) {
            Result r = new Proc(ns.execCommand(devmem("recv", "--listen", "127.0.0.1:0", "--dmabuf", c[0],
                    "--iface", "va", "--queues", "0").toArray(String[]::new))).await();
            assertThat(r.exit()).as(r.toString()).isEqualTo(ExitCodes.UNSUPPORTED);
            assertThat(r.err().lines().toList()).as(r.toString()).hasSize(1);
            // where the exporter exists, the kernel refuses veth instead
            assertThat(r.err()).as(r.toString()).containsAnyOf(c[1], "EOPNOTSUPP");
        }
    }

    @Test
    void theDemoOnTheLinuxBackendFailsWithTheReasonHere() throws Exception {
        TestNetns ns = netns();
        Result r = new Proc(ns.execCommand(devmem("demo", "--backend", "linux", "--iface", "lo", "--queues", "0",
                "--short").toArray(String[]::new))).await();
        assertThat(r.exit()).as(r.toString()).isEqualTo(ExitCodes.UNSUPPORTED);
        assertThat(r.err().lines().filter(l -> !l.startsWith("devmem demo: 256.0 MiB")).toList()).as(r.toString()).hasSize(1);
    }

    @Test
    void setupNicOnAVethFailsAtHeaderSplitWithTheKernelsTextAndChangesNothing() throws Exception {
        TestNetns ns = netns();
        String before = ns.exec("ethtool", "-k", "va");
        Result r = new Proc(ns.execCommand(devmem("recv", "--listen", "127.0.0.1:5201", "--dmabuf", "udmabuf",
                "--iface", "va", "--queues", "1", "--setup-nic").toArray(String[]::new))).await();
        assertThat(r.exit()).as(r.toString()).isEqualTo(ExitCodes.UNSUPPORTED);
        assertThat(r.err().lines().toList()).as(r.toString()).hasSize(1);
        assertThat(r.err()).as(r.toString()).contains("setting TCP data split is not supported");
        assertThat(ns.exec("ethtool", "-k", "va")).isEqualTo(before);
    }
}
