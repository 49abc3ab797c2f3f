package dev.devmem.cli;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Faults of the receiving process itself, with real processes and real signals: whatever the JVM
 * held (tokens, a dmabuf, the TCP socket) is the kernel's to clean up when the process dies, and the
 * peer must see the connection end rather than hang.
 */
class ProcessFaultIT {
    private static final int LISTEN = 0x0A;
    private static final int ESTABLISHED = 0x01;
    private final List<Process> started = new ArrayList<>();

    @AfterEach
    void stopLeftovers() {
        started.forEach(Process::destroyForcibly);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"linux", "emulated"})
    void aReceiverKilledWithSigkillMidStreamLeavesNoSocketInTheKernelAndThePeerSeesTheEnd(String backend)
            throws Exception {
        List<String> args = new ArrayList<>(List.of("recv", "--listen", "127.0.0.1:0", "--validate", "7",
                "--bytes", "64G"));
        if (backend.equals("emulated")) {
            args.addAll(List.of("--dmabuf", "emulated"));
        }
        CliSubprocessIT.Proc recv = new CliSubprocessIT.Proc(CliSubprocessIT.devmem(args.toArray(String[]::new)));
        started.add(recv.process);
        int port = recv.awaitListeningPort();

        AtomicLong sent = new AtomicLong();
        CompletableFuture<IOException> peerEnd = new CompletableFuture<>();
        Thread sender = startPatternPeer(port, sent, peerEnd);
        // More than the socket buffers and the dmabuf can hold: the receiver is reading and holding
        // frags in flight when it dies.
        Await.until(() -> sent.get() > (96L << 20), "the peer has sent 96 MiB");
        assertThat(established(port)).as("the receiver's side of the connection is up").isPositive();

        recv.process.destroyForcibly(); // SIGKILL: no shutdown hook, no finally block runs
        assertThat(recv.process.waitFor(Cli.TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)).isTrue();
        assertThat(recv.process.exitValue()).as("killed by signal 9").isEqualTo(128 + 9);

        IOException end = peerEnd.get(Cli.TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        assertThat(end.getMessage().toLowerCase(Locale.ROOT)).as("the peer's write fails: %s", end)
                .containsAnyOf("reset", "broken pipe");
        sender.join(Cli.TIMEOUT.toMillis());
        assertThat(listening(port)).as("no listening socket on port %d is left", port).isZero();
        assertThat(established(port)).as("no established connection on port %d is left", port).isZero();
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"linux", "emulated"})
    void aReceiverStoppedWithSigtermMidStreamPrintsItsSummaryWithEveryTokenBack(String backend) throws Exception {
        List<String> args = new ArrayList<>(List.of("recv", "--listen", "127.0.0.1:0", "--validate", "7",
                "--bytes", "64G", "--json"));
        if (backend.equals("emulated")) {
            args.addAll(List.of("--dmabuf", "emulated"));
        }
        CliSubprocessIT.Proc recv = new CliSubprocessIT.Proc(CliSubprocessIT.devmem(args.toArray(String[]::new)));
        started.add(recv.process);
        int port = recv.awaitListeningPort();
        AtomicLong sent = new AtomicLong();
        CompletableFuture<IOException> peerEnd = new CompletableFuture<>();
        startPatternPeer(port, sent, peerEnd);
        Await.until(() -> sent.get() > (96L << 20), "the peer has sent 96 MiB");

        // SIGTERM by kill(1): Process.destroy() would also close our ends of its stdout and stderr,
        // and the summary it prints on the way out would be lost
        assertThat(new ProcessBuilder("kill", "-TERM", Long.toString(recv.process.pid())).start().waitFor()).isZero();
        CliSubprocessIT.Result r = recv.await();
        assertThat(r.exit()).as(r.toString()).isEqualTo(128 + 15);
        var j = r.json();
        assertThat(j.path("result").asText()).as("the summary after SIGTERM: %s", r).isEqualTo("interrupted");
        assertThat(j.get("tokens").get("outstanding").asLong()).as("every frag came back before exit").isZero();
        assertThat(j.get("tokens").get("outstandingGauge").asLong()).isZero();
        long bytes = j.get("bytes").asLong();
        assertThat(bytes).isPositive();
        assertThat(j.get("validation").get("bytesValidated").asLong()).as("every byte that arrived was checked")
                .isEqualTo(bytes);
        assertThat(j.get("validation").get("everyByte").asBoolean()).isTrue();
        assertThat(peerEnd.get(Cli.TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)).as("the peer sees the end").isNotNull();
        assertThat(listening(port) + established(port)).as("no socket left on port %d", port).isZero();
    }

    /** Writes the netcat pattern (period 7) until the connection fails; the failure ends {@code end}. */
    private static Thread startPatternPeer(int port, AtomicLong sent, CompletableFuture<IOException> end) {
        return Thread.ofPlatform().daemon().name("pattern-peer").start(() -> {
            try (SocketChannel ch = SocketChannel.open(new InetSocketAddress("127.0.0.1", port))) {
                ByteBuffer chunk = pattern(7, 1 << 20);
                while (true) {
                    chunk.clear();
                    while (chunk.hasRemaining()) {
                        sent.addAndGet(ch.write(chunk));
                    }
                }
            } catch (IOException e) {
                end.complete(e);
            } catch (Throwable t) {
                end.completeExceptionally(t);
            }
        });
    }

    private static ByteBuffer pattern(int period, int size) {
        int len = size - size % period;
        ByteBuffer b = ByteBuffer.allocateDirect(len);
        for (int i = 0; i < len; i++) {
            int phase = i % period;
            b.put((byte) (phase == period - 1 ? 0 : phase + 1));
        }
        return b.flip();
    }

    private static long listening(int port) throws IOException {
        return sockets(port, LISTEN);
    }

    private static long established(int port) throws IOException {
        return sockets(port, ESTABLISHED);
    }

    /** Sockets in {@code state} whose local port is {@code port}, as the kernel lists them. */
    private static long sockets(int port, int state) throws IOException {
        long n = 0;
        for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
            Path p = Path.of(table);
            if (!Files.exists(p)) {
                continue;
            }
            List<String> lines = Files.readAllLines(p); // one read: the table changes between reads
            for (String line : lines.subList(1, lines.size())) {
                String[] f = line.trim().split("\\s+");
                int localPort = Integer.parseInt(f[1].substring(f[1].indexOf(':') + 1), 16);
                if (localPort == port && Integer.parseInt(f[3], 16) == state) {
                    n++;
                }
            }
        }
        return n;
    }

    /** Polls a condition (a hang guard, not a timing assertion). */
    private static final class Await {
        static void until(java.util.function.BooleanSupplier ok, String what) throws InterruptedException {
            long deadline = System.nanoTime() + Cli.TIMEOUT.toNanos();
            while (!ok.getAsBoolean()) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("never happened: " + what);
                }
                Thread.sleep(5);
            }
        }
    }
}
