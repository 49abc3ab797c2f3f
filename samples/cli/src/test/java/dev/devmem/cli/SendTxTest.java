package dev.devmem.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.devmem.ffm.sys.LinuxConstants;
import dev.devmem.ffm.sys.Syscalls;
import dev.devmem.ffm.testing.NetcatPattern;
import dev.devmem.ffm.testing.TestNetns;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code devmem send --dmabuf} in this JVM: devmem TX through the library's sender on the emulated
 * devmem NIC into {@code devmem recv} (every byte validated) and into a real {@code nc}; the Linux
 * backend's bind-tx refused by a veth in a test network namespace (exit 3, the kernel's reason on one
 * line); and the opt-in copy fallback, on the emulated NIC and on the real kernel, saying so.
 *
 * <p>The dmabufs are small next to the streams, so every region is leased, sent and reused many
 * times: a region handed out again before its completion would put wrong bytes on the wire, and the
 * receiver checks every byte.
 */
class SendTxTest {
    private static TestNetns netns;

    @AfterAll
    static void deleteNamespace() {
        if (netns != null) {
            netns.close();
        }
    }

    private static TestNetns netns() {
        if (netns == null) {
            netns = TestNetns.create();
        }
        return netns;
    }

    private static long ceilDiv(long a, long b) {
        return a / b + (a % b == 0 ? 0 : 1);
    }

    /** The TX numbers of a completed devmem TX send of {@code bytes} in slices of {@code slice}. */
    private static void assertEveryCompletion(JsonNode s, long bytes, long slice) {
        assertThat(s.get("result").asText()).isEqualTo("ok");
        assertThat(s.get("bytes").asLong()).isEqualTo(bytes);
        JsonNode tx = s.get("tx");
        assertThat(tx.get("sliceBytes").asLong()).isEqualTo(slice);
        assertThat(tx.get("slices").asLong()).as("one TxCompletion per slice").isEqualTo(ceilDiv(bytes, slice));
        assertThat(tx.get("leases").get("granted").asLong()).isEqualTo(tx.get("slices").asLong());
        assertThat(tx.get("sends").asLong()).isGreaterThanOrEqualTo(tx.get("slices").asLong());
        assertThat(tx.get("completions").asLong()).as("every send completed").isEqualTo(tx.get("sends").asLong());
        assertThat(tx.get("completedBytes").asLong()).isEqualTo(bytes);
        assertThat(tx.get("notifications").asLong()).isPositive().isLessThanOrEqualTo(tx.get("completions").asLong());
        JsonNode f = tx.get("inFlight");
        assertThat(f.get("atEndBytes").asLong()).isZero();
        assertThat(f.get("maxBytes").asLong()).isPositive().isLessThanOrEqualTo(f.get("capBytes").asLong())
                .isLessThanOrEqualTo(tx.get("dmabufBytes").asLong());
    }

    private static void assertEveryByteReceived(Cli.Run r, long bytes, JsonNode send) {
        assertThat(r.exit()).as(r.toString()).isEqualTo(ExitCodes.OK);
        JsonNode j = r.json();
        assertThat(j.get("bytes").asLong()).isEqualTo(bytes);
        assertThat(j.get("validation").get("bytesValidated").asLong()).isEqualTo(bytes);
        assertThat(j.get("validation").get("everyByte").asBoolean()).isTrue();
        assertThat(j.get("peer").asText()).isEqualTo(send.get("local").asText());
    }

    /**
     * Slices of an odd size (every slice starts at another phase of the pattern) through a dmabuf
     * that holds a few of them (leases wait for completions) or under an in-flight cap far below the
     * dmabuf (the cap holds the sender back).
     */
    @ParameterizedTest(name = "recv {0}, terminator {1}, dmabuf {2}, slice {3}, in flight {4}")
    @CsvSource({
            "linux,0,512K,100001,16M",
            "emulated,10,4M,65536,256K",
            "linux,10,64M,1M,16M"})
    void devmemTxFromTheEmulatedNicIntoRecvEveryByteValidated(String recvBackend, String terminator, String dmabuf,
                                                               String slice, String inFlight) throws Exception {
        long bytes = 48L << 20;
        Cli.Running recv = Cli.startIsolated("recv", "--listen", "127.0.0.1:0", "--backend", recvBackend,
                "--validate", "7", "--terminator", terminator, "--json");
        int port = recv.awaitListeningPort();
        Cli.Run send = Cli.startIsolated("send", "--connect", "127.0.0.1:" + port, "--bytes", "48M",
                "--terminator", terminator, "--dmabuf", "emulated", "--dmabuf-size", dmabuf, "--slice", slice,
                "--max-in-flight", inFlight, "--json").await();
        Cli.Run r = recv.await();
        assertThat(send.exit()).as(send.toString()).isEqualTo(ExitCodes.OK);
        JsonNode s = send.json();
        assertEveryByteReceived(r, bytes, s);
        assertThat(s.get("mode").asText()).isEqualTo("devmem");
        assertThat(s.get("devmemTx").asBoolean()).isTrue();
        assertThat(s.get("copyFallback").asBoolean()).isFalse();
        assertThat(s.get("fallbackCause").isNull()).isTrue();
        assertThat(s.get("source").asText()).isEqualTo("emulated");
        assertThat(s.get("pattern").get("terminator").asInt()).isEqualTo(Integer.parseInt(terminator));
        long sliceBytes = Sizes.parse(slice);
        assertEveryCompletion(s, bytes, sliceBytes);
        JsonNode tx = s.get("tx");
        assertThat(tx.get("backend").asText()).isEqualTo("emulated");
        assertThat(tx.get("interface").asText()).isEqualTo("emu0");
        assertThat(tx.get("bindingId").asLong()).as("a devmem TX binding").isPositive();
        assertThat(tx.get("dmabufBytes").asLong()).isEqualTo(Sizes.parse(dmabuf));
        assertThat(tx.get("copiedCompletions").asLong()).as("device memory is never copied").isZero();
        assertThat(tx.get("copiedSlices").asLong()).isZero();
        assertThat(tx.get("inFlight").get("capBytes").asLong()).isEqualTo(Sizes.parse(inFlight));
        if (Sizes.parse(dmabuf) < Sizes.parse(inFlight)) {
            assertThat(tx.get("leases").get("waited").asLong()).as("the dmabuf held the sender back").isPositive();
        }
        assertThat(send.err()).contains("devmem send: bound 64.0 MiB".replace("64.0 MiB", Sizes.human(Sizes.parse(dmabuf))))
                .contains("devmem send: connected to 127.0.0.1:" + port).doesNotContain("COPY FALLBACK");
    }

    @Test
    void theTextSummarySaysDevmemTxAndCountsTheCompletions() throws Exception {
        Cli.Running recv = Cli.startIsolated("recv", "--listen", "127.0.0.1:0", "--validate", "7");
        int port = recv.awaitListeningPort();
        Cli.Run send = Cli.startIsolated("send", "--connect", "127.0.0.1:" + port, "--bytes", "8M",
                "--dmabuf", "emulated").await();
        Cli.Run r = recv.await();
        assertThat(send.exit()).as(send.toString()).isZero();
        assertThat(r.exit()).as(r.toString()).isZero();
        List<String> lines = send.out().lines().toList();
        assertThat(lines.getFirst()).startsWith("send: 8.0 MiB (8388608 bytes) to 127.0.0.1:" + port)
                .contains("devmem TX from a 64.0 MiB emulated dmabuf (TX binding ").contains(" on emu0, emulated)");
        assertThat(send.out()).contains("  slices       8 of 1.0 MiB completed (0 copied)")
                .contains("  completions  ").contains("(8388608 bytes), 0 copied").doesNotContain("FALLBACK");
    }

    @Test
    void aByteFlippedInADmabufSliceIsCaughtAtItsOffset() throws Exception {
        Cli.Running recv = Cli.startIsolated("recv", "--listen", "127.0.0.1:0", "--dmabuf", "emulated", "--validate", "9");
        int port = recv.awaitListeningPort();
        Cli.Run send = Cli.startIsolated("send", "--connect", "127.0.0.1:" + port, "--bytes", "16M", "--pattern", "9",
                "--dmabuf", "emulated", "--slice", "100000", "--corrupt-at", "12345678").await();
        Cli.Run r = recv.await();
        assertThat(r.exit()).as(r.toString()).isEqualTo(ExitCodes.DATA_ERROR);
        assertThat(r.err()).contains("pattern mismatch at stream offset 12345678:");
        assertThat(send.exit()).as("the sender may or may not see the receiver leave: " + send)
                .isIn(ExitCodes.OK, ExitCodes.IO_ERROR);
    }

    @Test
    void devmemTxIntoARealNetcatArrivesByteForByte() throws Exception {
        Netcat.assume();
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        Path file = Files.createTempFile("devmem-send-nc", ".bin");
        try {
            Process nc = new ProcessBuilder("bash", "-c", "exec " + Netcat.listen(port) + " </dev/null >" + file)
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            try {
                awaitListening(port, nc);
                Cli.Run send = Cli.startIsolated("send", "--connect", "127.0.0.1:" + port, "--bytes", "24M",
                        "--dmabuf", "emulated", "--dmabuf-size", "2M", "--slice", "300000", "--json").await();
                assertThat(send.exit()).as(send.toString()).isZero();
                assertThat(nc.waitFor(Cli.TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)).as("nc ends at the sender's FIN")
                        .isTrue();
                assertEveryCompletion(send.json(), 24L << 20, 300000);
            } finally {
                nc.destroyForcibly();
            }
            byte[] got = Files.readAllBytes(file);
            assertThat((long) got.length).isEqualTo(24L << 20);
            long mismatch = NetcatPattern.kernelDoc().firstMismatch(MemorySegment.ofArray(got), 0);
            assertThat(mismatch).as("first byte off the pattern").isEqualTo(-1);
        } finally {
            Files.deleteIfExists(file);
        }
    }

    /** Waits until a socket listens on 127.0.0.1:{@code port} (/proc/net/tcp: state 0A), without connecting to it. */
    static void awaitListening(int port, Process owner) throws Exception {
        String local = String.format(Locale.ROOT, "0100007F:%04X", port);
        long deadline = System.nanoTime() + Cli.TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            for (String line : Files.readAllLines(Path.of("/proc/net/tcp"))) {
                String[] f = line.trim().split("\\s+");
                if (f.length > 3 && f[1].equals(local) && f[3].equals("0A")) {
                    return;
                }
            }
            if (!owner.isAlive()) {
                throw new AssertionError("nc ended before listening (exit " + owner.exitValue() + ")");
            }
            Thread.sleep(10);
        }
        throw new AssertionError("nothing listens on 127.0.0.1:" + port);
    }

    @Test
    void anEmulatedDriverWithoutNetmemTxIsRefusedWithTheKernelsWordsOnOneLine() {
        Cli.Run r = Cli.run("send", "--connect", "127.0.0.1:9", "--bytes", "1M", "--dmabuf", "emulated",
                "--no-netmem-tx");
        assertThat(r.exit()).as(r.toString()).isEqualTo(ExitCodes.UNSUPPORTED);
        assertThat(r.err().lines().toList()).as(r.toString()).hasSize(1);
        assertThat(r.err()).startsWith("devmem send: netdev bind-tx failed: EOPNOTSUPP")
                .contains("Driver does not support netmem TX");
        assertThat(r.out()).isEmpty();
    }

    @Test
    void theCopyFallbackOnTheEmulatedNicDeliversEveryByteAndSaysSo() throws Exception {
        Cli.Running recv = Cli.startIsolated("recv", "--listen", "127.0.0.1:0", "--validate", "7", "--json");
        int port = recv.awaitListeningPort();
        Cli.Run send = Cli.startIsolated("send", "--connect", "127.0.0.1:" + port, "--bytes", "32M",
                "--dmabuf", "emulated", "--no-netmem-tx", "--copy-fallback", "--dmabuf-size", "4M", "--json").await();
        Cli.Run r = recv.await();
        assertThat(send.exit()).as(send.toString()).isZero();
        JsonNode s = send.json();
        assertEveryByteReceived(r, 32L << 20, s);
        assertThat(s.get("copyFallback").asBoolean()).isTrue();
        assertThat(s.get("devmemTx").asBoolean()).isFalse();
        assertThat(s.get("mode").asText()).isEqualTo("copy-fallback");
        assertThat(s.get("fallbackCause").asText()).contains("EOPNOTSUPP").contains("Driver does not support netmem TX");
        assertEveryCompletion(s, 32L << 20, 1L << 20);
        assertThat(s.get("tx").get("bindingId").asLong()).as("host memory: the kernel's id 0").isZero();
        assertThat(s.get("tx").get("copiedCompletions").asLong()).as("host memory over loopback is copied")
                .isEqualTo(s.get("tx").get("completions").asLong());
        assertThat(send.err()).contains("devmem send: COPY FALLBACK (--copy-fallback): emu0 cannot do devmem TX")
                .contains("NOT devmem TX");
    }

    @Test
    void theCopyFallbackIsLoudInTheTextSummaryToo() throws Exception {
        Cli.Running recv = Cli.startIsolated("recv", "--listen", "127.0.0.1:0", "--validate", "7");
        int port = recv.awaitListeningPort();
        Cli.Run send = Cli.startIsolated("send", "--connect", "127.0.0.1:" + port, "--bytes", "4M",
                "--dmabuf", "emulated", "--no-netmem-tx", "--copy-fallback").await();
        Cli.Run r = recv.await();
        assertThat(send.exit()).as(send.toString()).isZero();
        assertThat(r.exit()).as(r.toString()).isZero();
        List<String> lines = send.out().lines().toList();
        assertThat(lines.getFirst()).endsWith("COPY FALLBACK from the emulated dmabuf as host memory, not devmem TX");
        assertThat(lines.get(1)).startsWith("  COPY FALLBACK  emu0 cannot do devmem TX (netdev bind-tx failed: EOPNOTSUPP");
    }

    // ------------------------------------------------------------------ the Linux backend, in a test namespace

    private static int memfd(long size) throws Exception {
        int fd = Syscalls.check(Syscalls.memfdCreate("devmem-cli-test", LinuxConstants.MFD_CLOEXEC), "memfd_create");
        Syscalls.check(Syscalls.ftruncate(fd, size), "ftruncate");
        return fd;
    }

    @Test
    void bindTxOfAUdmabufOnAVethIsUnsupportedWithTheReasonOnOneLine() throws Exception {
        TestNetns ns = netns();
        Cli.Run r = ns.call(() -> Cli.run("send", "--connect", "127.0.0.1:9", "--bytes", "1M", "--dmabuf", "udmabuf",
                "--iface", "va"));
        assertThat(r.exit()).as(r.toString()).isEqualTo(ExitCodes.UNSUPPORTED);
        assertThat(r.err().lines().toList()).as(r.toString()).hasSize(1);
        if (Files.exists(Path.of("/dev/udmabuf"))) {
            assertThat(r.err()).as("the kernel's answer for a veth").contains("EOPNOTSUPP")
                    .contains("Driver does not support netmem TX");
        } else {
            assertThat(r.err()).startsWith("devmem send: udmabuf is not available: /dev/udmabuf does not exist");
        }
        assertThat(r.out()).isEmpty();
    }

    @Test
    void theKernelItselfRefusesBindTxOnAVeth() throws Exception {
        // an inherited dmabuf fd (here a memfd): bind-tx looks at the driver before the dmabuf, so the
        // kernel's netmem TX check answers whatever exporter this host lacks
        TestNetns ns = netns();
        int fd = memfd(4L << 20);
        try {
            Cli.Run r = ns.call(() -> Cli.run("send", "--connect", "127.0.0.1:9", "--bytes", "1M",
                    "--dmabuf", "fd:" + fd, "--dmabuf-size", "4M", "--iface", "va"));
            assertThat(r.exit()).as(r.toString()).isEqualTo(ExitCodes.UNSUPPORTED);
            assertThat(r.err().lines().toList()).as(r.toString()).hasSize(1);
            assertThat(r.err()).startsWith("devmem send: netdev bind-tx failed: EOPNOTSUPP")
                    .contains("\"Driver does not support netmem TX\"");
            assertThat(r.out()).isEmpty();
        } finally {
            Syscalls.close(fd);
        }
    }

    @Test
    void theCopyFallbackOnTheRealKernelSendsAHostMappableDmabufAndSaysSo() throws Exception {
        TestNetns ns = netns();
        long bytes = 32L << 20;
        int fd = memfd(4L << 20);
        try (ServerSocketChannel listener = ns.call(() -> ServerSocketChannel.open()
                .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)))) {
            int port = ((InetSocketAddress) listener.getLocalAddress()).getPort();
            CompletableFuture<long[]> received = CompletableFuture.supplyAsync(() -> receivePattern(listener),
                    r -> Thread.ofPlatform().daemon().name("ns-receiver").start(r));
            Cli.Run send = ns.call(() -> Cli.run("send", "--connect", "127.0.0.1:" + port, "--bytes", "32M",
                    "--dmabuf", "fd:" + fd, "--dmabuf-size", "4M", "--iface", "lo", "--copy-fallback", "--json"));
            assertThat(send.exit()).as(send.toString()).isZero();
            long[] got = received.get(Cli.TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            assertThat(got[1]).as("first byte off the pattern").isEqualTo(-1);
            assertThat(got[0]).isEqualTo(bytes);
            JsonNode s = send.json();
            assertThat(s.get("copyFallback").asBoolean()).isTrue();
            assertThat(s.get("devmemTx").asBoolean()).isFalse();
            assertThat(s.get("fallbackCause").asText()).contains("Driver does not support netmem TX");
            assertThat(s.get("source").asText()).isEqualTo("fd:" + fd);
            assertThat(s.get("tx").get("backend").asText()).isEqualTo("linux");
            assertEveryCompletion(s, bytes, 1L << 20);
            assertThat(send.err()).contains("COPY FALLBACK (--copy-fallback): lo cannot do devmem TX");
        } finally {
            Syscalls.close(fd);
        }
    }

    /** Accepts one connection and reads it to the end: {bytes, offset of the first byte off the pattern or -1}. */
    private static long[] receivePattern(ServerSocketChannel listener) {
        NetcatPattern pattern = NetcatPattern.kernelDoc();
        try (SocketChannel c = listener.accept()) {
            ByteBuffer b = ByteBuffer.allocateDirect(1 << 20);
            long pos = 0;
            long mismatch = -1;
            int n;
            while ((n = c.read(b.clear())) >= 0) {
                if (mismatch < 0) {
                    mismatch = pattern.firstMismatch(MemorySegment.ofBuffer(b.flip()), pos);
                }
                pos += n;
            }
            return new long[] {pos, mismatch};
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
