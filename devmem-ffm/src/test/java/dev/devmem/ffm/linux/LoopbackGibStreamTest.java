package dev.devmem.ffm.linux;

import dev.devmem.api.FragKind;
import dev.devmem.api.spi.DevmemListener;
import dev.devmem.api.spi.DevmemSocket;
import dev.devmem.api.spi.Pollable;
import dev.devmem.api.spi.ReceiveBatch;
import dev.devmem.api.spi.SocketStats;
import dev.devmem.ffm.rx.DevmemSocketImpl;
import dev.devmem.ffm.rx.PollIoWaiter;
import dev.devmem.ffm.RxSocketOptions;
import dev.devmem.ffm.testing.NetcatPattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The kernel doc's netcat stream, {@code devmem.test.gib} GiB of it (default 1), over real loopback
 * TCP from a plain JDK socket into the devmem engine, on the I/O-loop shape the Reactor layer uses:
 * receive, park in {@link PollIoWaiter}, release. Loopback has no devmem NIC, so every byte must
 * come back as HOST fragments, in order, intact.
 *
 * <p>Fragments are held until the host slabs run out, so receiving stalls (pollFd -1) and resumes
 * only through releases; each held fragment is verified again just before it is released, which
 * fails if a pinned slab was ever written over.
 */
@Timeout(value = 30, unit = TimeUnit.MINUTES) // a hang guard only
class LoopbackGibStreamTest {
    private static final NetcatPattern PATTERN = NetcatPattern.kernelDoc();

    /** Received fragments not yet released, oldest first. */
    private static final class Held {
        final int[] key;
        final long[] offset;
        final int[] length;
        final long[] position;
        final MemorySegment[] memory;
        int head;
        int size;

        Held(int capacity) {
            key = new int[capacity];
            offset = new long[capacity];
            length = new int[capacity];
            position = new long[capacity];
            memory = new MemorySegment[capacity];
        }

        boolean full() {
            return size == key.length;
        }

        void add(ReceiveBatch b, int i) {
            int at = (head + size++) % key.length;
            key[at] = b.releaseKey(i);
            offset[at] = b.offset(i);
            length[at] = b.length(i);
            position[at] = b.streamPosition(i);
            memory[at] = b.memory(i);
        }

        /** Re-verifies and releases the oldest {@code n}. */
        void releaseOldest(DevmemSocket socket, int n) throws Exception {
            for (int k = 0; k < n; k++) {
                int at = head;
                long bad = PATTERN.firstMismatch(memory[at].asSlice(offset[at], length[at]), position[at]);
                if (bad >= 0) {
                    fail("a pinned host fragment changed before its release, first at stream offset " + bad);
                }
                socket.release(FragKind.HOST, key[at]);
                memory[at] = null;
                head = (head + 1) % key.length;
                size--;
            }
        }
    }

    @Test
    void gibibytesOfTheNetcatPatternArriveIntactAsContiguousHostFragments() throws Exception {
        long total = Long.getLong("devmem.test.gib", 1) << 30;
        RxSocketOptions options = RxSocketOptions.defaults().withHostSlabs(8, 256 * 1024);
        LinuxBackend backend = new LinuxBackend(options, Duration.ofSeconds(30));
        AtomicReference<Throwable> senderFailure = new AtomicReference<>();
        long started = System.nanoTime();

        try (DevmemListener listener = backend.listen(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0), 4);
             PollIoWaiter waiter = (PollIoWaiter) backend.newIoWaiter()) {
            InetSocketAddress target = listener.localAddress();
            Thread sender = Thread.ofPlatform().name("netcat-sender").start(() -> {
                try (Socket s = new Socket(target.getAddress(), target.getPort())) {
                    OutputStream out = s.getOutputStream();
                    byte[] chunk = new byte[1 << 20];
                    MemorySegment view = MemorySegment.ofArray(chunk);
                    for (long off = 0; off < total; off += chunk.length) {
                        int n = (int) Math.min(chunk.length, total - off);
                        PATTERN.fill(view.asSlice(0, n), off);
                        out.write(chunk, 0, n);
                    }
                    s.shutdownOutput();
                } catch (Throwable e) {
                    senderFailure.set(e);
                }
            });

            DevmemSocket socket = LinuxBackendTest.acceptOne(listener, waiter);
            DevmemSocketImpl impl = (DevmemSocketImpl) socket;
            Pollable[] polled = {socket};
            ReceiveBatch batch = new ReceiveBatch(64);
            Held held = new Held(4096);
            long expected = 0;
            long stalls = 0;
            long parks = 0;
            try (socket) {
                while (true) {
                    int n = socket.receive(batch);
                    if (n == DevmemSocket.END_OF_STREAM) {
                        break;
                    }
                    if (n == 0) {
                        if (socket.awaitsReleases()) {
                            // Only a release can help: what the I/O thread does when releases arrive.
                            stalls++;
                            held.releaseOldest(socket, held.size - 1);
                            if (socket.awaitsReleases()) {
                                held.releaseOldest(socket, held.size);
                            }
                            continue;
                        }
                        parks++;
                        waiter.await(polled, 1, TimeUnit.SECONDS.toNanos(1));
                        if (senderFailure.get() != null) {
                            fail("sender failed", senderFailure.get());
                        }
                        continue;
                    }
                    for (int i = 0; i < n; i++) {
                        if (batch.kind(i) != FragKind.HOST) {
                            fail("loopback gave a " + batch.kind(i) + " fragment at stream offset " + batch.streamPosition(i));
                        }
                        if (batch.streamPosition(i) != expected) {
                            fail("fragment at stream offset " + batch.streamPosition(i) + ", expected " + expected);
                        }
                        long bad = PATTERN.firstMismatch(batch.memory(i).asSlice(batch.offset(i), batch.length(i)), expected);
                        if (bad >= 0) {
                            fail("wrong byte at stream offset " + bad);
                        }
                        expected += batch.length(i);
                        if (held.full()) {
                            held.releaseOldest(socket, 1);
                        }
                        held.add(batch, i);
                    }
                }
                held.releaseOldest(socket, held.size);
                socket.flushReleases();

                sender.join();
                assertThat(senderFailure.get()).isNull();
                assertThat(expected).isEqualTo(total);
                SocketStats st = socket.stats();
                assertThat(st.bytesByKind()).containsExactly(0, 0, total);
                assertThat(st.fragsByKind()[FragKind.DMABUF.ordinal()]).isZero();
                assertThat(st.fragsByKind()[FragKind.LINEAR.ordinal()]).isZero();
                assertThat(st.fragsByKind()[FragKind.HOST.ordinal()]).isEqualTo(st.recvCalls());
                assertThat(st.tokensOutstanding()).isZero();
                assertThat(st.hostOutstanding()).isZero();
                assertThat(st.dontneedCalls()).isZero();
                assertThat(st.unknownReleases()).isZero();
                assertThat(socket.outstanding()).isZero();
                assertThat(impl.hostSlabsInUse()).as("every slab reclaimed").isZero();
                assertThat(stalls).as("the slab pool ran out and recovered through releases").isPositive();
                double secs = (System.nanoTime() - started) / 1e9;
                System.out.printf("loopback devmem stream: %d MiB in %.2f s (%.0f MiB/s), %d recvmsg, %d stalls, %d parks%n",
                        total >> 20, secs, (total >> 20) / secs, st.recvCalls(), stalls, parks);
            }
        }
    }
}
