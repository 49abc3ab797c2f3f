package dev.devmem.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.devmem.ffm.testing.NetcatPattern;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code devmem recv} (in this JVM) fed by a real netcat running the kernel documentation's pipeline,
 * on plain TCP (the Linux backend, HOST frags) and on the emulated devmem NIC (DMABUF frags).
 */
class RecvNetcatTest {
    private static final long MIB_64 = 64L << 20;

    @BeforeEach
    void netcat() {
        Netcat.assume();
    }

    private static Cli.Run recvFromNetcat(boolean tr, String... recvArgs) throws Exception {
        String[] args = new String[recvArgs.length + 4];
        args[0] = "recv";
        args[1] = "--listen";
        args[2] = "127.0.0.1:0";
        args[3] = "--json";
        System.arraycopy(recvArgs, 0, args, 4, recvArgs.length);
        Cli.Running recv = Cli.start(args);
        int port = recv.awaitListeningPort();
        int nc = Netcat.run(Netcat.pipeline(tr, "64M", port));
        Cli.Run r = recv.await();
        assertThat(nc).as("nc exit code; recv: " + r).isZero();
        return r;
    }

    private static void assertEveryByteOfTheDocStream(Cli.Run r, int terminator) {
        assertThat(r.exit()).as(r.toString()).isEqualTo(ExitCodes.OK);
        JsonNode j = r.json();
        assertThat(j.get("result").asText()).isEqualTo("ok");
        assertThat(j.get("bytes").asLong()).isEqualTo(MIB_64);
        assertThat(j.get("bytesReceived").asLong()).isEqualTo(MIB_64);
        JsonNode v = j.get("validation");
        assertThat(v.get("bytesValidated").asLong()).isEqualTo(MIB_64);
        assertThat(v.get("bytesNotValidated").asLong()).isZero();
        assertThat(v.get("everyByte").asBoolean()).isTrue();
        assertThat(v.get("period").asInt()).isEqualTo(7);
        assertThat(v.get("terminator").asInt()).isEqualTo(terminator);
        assertThat(j.get("tokens").get("outstanding").asLong()).isZero();
        assertThat(j.get("tokens").get("reclaimed").asLong()).isZero();
    }

    @Test
    void plainTcpAcceptsTheKernelDocsNetcatPipeline() throws Exception {
        Cli.Run r = recvFromNetcat(true, "--validate", "7");
        assertEveryByteOfTheDocStream(r, 0);
        JsonNode j = r.json();
        assertThat(j.get("backend").asText()).isEqualTo("linux");
        assertThat(j.get("binding").isNull()).isTrue();
        assertThat(j.get("frags").get("host").asLong()).isPositive();
        assertThat(j.get("frags").get("dmabuf").asLong()).isZero();
        assertThat(j.get("fragBytes").get("host").asLong()).isEqualTo(MIB_64);
    }

    @Test
    void theEmulatedNicAcceptsTheKernelDocsNetcatPipeline() throws Exception {
        Cli.Run r = recvFromNetcat(true, "--validate", "7", "--dmabuf", "emulated");
        assertEveryByteOfTheDocStream(r, 0);
        JsonNode j = r.json();
        assertThat(j.get("backend").asText()).isEqualTo("emulated");
        assertThat(j.get("binding").get("interface").asText()).isEqualTo("emu0");
        assertThat(j.get("binding").get("id").asInt()).isPositive();
        assertThat(j.get("frags").get("dmabuf").asLong()).as("the dmabuf path").isGreaterThanOrEqualTo(MIB_64 / 4096);
        assertThat(j.get("frags").get("host").asLong()).isZero();
        assertThat(j.get("dontneed").get("calls").asLong()).isPositive();
        assertThat(j.get("dontneed").get("tokensFreed").asLong()).isEqualTo(j.get("frags").get("dmabuf").asLong());
        assertThat(r.err()).contains("devmem recv: listening on 127.0.0.1:").contains("connection from 127.0.0.1:");
    }

    @ParameterizedTest
    @ValueSource(strings = {"linux", "emulated"})
    void ncdevmemsNewlineTerminatorIsAcceptedToo(String backend) throws Exception {
        Cli.Run r = recvFromNetcat(false, "--validate", "7", "--backend", backend);
        assertEveryByteOfTheDocStream(r, 0x0A);
    }

    @Test
    void emulatedHeaderSplitFailuresBringLinearFragsAndEveryByteIsStillChecked() throws Exception {
        Cli.Run r = recvFromNetcat(true, "--validate", "7", "--dmabuf", "emulated", "--header-split-failures", "0.2",
                "--queues", "2,3");
        assertEveryByteOfTheDocStream(r, 0);
        JsonNode j = r.json();
        assertThat(j.get("frags").get("linear").asLong()).isPositive();
        assertThat(j.get("binding").get("queues").toString()).isEqualTo("[2,3]");
    }

    @Test
    void theByteLimitStopsEarlyAndASmallerStreamIsShort() throws Exception {
        Cli.Running recv = Cli.start("recv", "--listen", "127.0.0.1:0", "--validate", "7", "--bytes", "10M", "--json");
        Netcat.run(Netcat.pipeline(true, "64M", recv.awaitListeningPort())); // nc may see the early close
        Cli.Run limited = recv.await();
        assertThat(limited.exit()).as(limited.toString()).isZero();
        assertThat(limited.json().get("bytes").asLong()).isEqualTo(10L << 20);
        assertThat(limited.json().get("limit").asLong()).isEqualTo(10L << 20);
        assertThat(limited.json().get("validation").get("bytesValidated").asLong()).isEqualTo(10L << 20);

        Cli.Running shortRecv = Cli.start("recv", "--listen", "127.0.0.1:0", "--validate", "7", "--bytes", "10M");
        Netcat.run(Netcat.pipeline(true, "1M", shortRecv.awaitListeningPort()));
        Cli.Run shortRun = shortRecv.await();
        assertThat(shortRun.exit()).as(shortRun.toString()).isEqualTo(ExitCodes.DATA_ERROR);
        assertThat(shortRun.err()).contains("the stream ended after 1048576 bytes, short of the 10485760 asked for");
    }

    /** A sender of our own (the test-jar's NetcatPattern) that flips one byte at a known offset. */
    @ParameterizedTest
    @ValueSource(strings = {"linux", "emulated"})
    void aCorruptedByteFailsWithExitOneNamingItsStreamOffset(String backend) throws Exception {
        long bad = 5_000_003;
        Cli.Running recv = Cli.start("recv", "--listen", "127.0.0.1:0", "--validate", "7", "--backend", backend);
        int port = recv.awaitListeningPort();
        NetcatPattern p = NetcatPattern.kernelDoc();
        byte[] chunk = new byte[1 << 20];
        try (SocketChannel ch = SocketChannel.open(new InetSocketAddress(InetAddress.getLoopbackAddress(), port))) {
            for (long off = 0; off < 8L << 20; off += chunk.length) {
                p.fill(MemorySegment.ofArray(chunk), off);
                if (bad >= off && bad < off + chunk.length) {
                    chunk[(int) (bad - off)] ^= 0x20;
                }
                ByteBuffer b = ByteBuffer.wrap(chunk);
                while (b.hasRemaining()) {
                    ch.write(b);
                }
            }
            ch.shutdownOutput();
        } catch (IOException closedByTheReceiver) {
            // recv stops reading at the mismatch
        }
        Cli.Run r = recv.await();
        assertThat(r.exit()).as(r.toString()).isEqualTo(ExitCodes.DATA_ERROR);
        String expected = String.format("pattern mismatch at stream offset %d: expected 0x%02x, got 0x%02x",
                bad, p.at(bad), p.at(bad) ^ 0x20);
        assertThat(r.err()).contains("devmem recv: " + expected);
        assertThat(r.err().lines().filter(l -> l.contains("mismatch")).count()).as("one line").isEqualTo(1);
        assertThat(r.out()).contains("validation  FAILED: " + expected);
    }
}
