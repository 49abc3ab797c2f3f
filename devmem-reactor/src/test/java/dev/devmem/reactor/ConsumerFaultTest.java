package dev.devmem.reactor;

import dev.devmem.api.DevmemFrag;
import dev.devmem.api.DmabufSource;
import dev.devmem.ffm.DevmemBackends;
import dev.devmem.ffm.emulated.EmulatedBackend;
import dev.devmem.ffm.emulated.EmulatedNicConfig;
import dev.devmem.ffm.testing.NetcatPattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import reactor.core.Disposable;
import reactor.test.StepVerifier;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The fault matrix's consumer column, on both backends a user has (the real kernel over loopback,
 * HOST frags; the emulated devmem NIC, DMABUF frags): a consumer that throws, one that never
 * releases, one that releases slowly from other threads, and a cancel that races the binding. Each
 * ends with the ledger at zero and every delivered byte checked against the pattern.
 */
class ConsumerFaultTest {
    private static final NetcatPattern PATTERN = NetcatPattern.kernelDoc();
    private static final int FRAG = 4096;

    private EmulatedBackend emulated;

    @AfterEach
    void closeNic() {
        if (emulated != null) {
            emulated.close();
        }
    }

    private DevmemReceiver receiver(String backend) throws Exception {
        if (backend.equals("linux")) {
            return DevmemReceiver.create(DevmemBackends.linux());
        }
        EmulatedNicConfig config = EmulatedNicConfig.defaults().withRxQueues(1);
        emulated = DevmemBackends.emulated(config);
        return DevmemReceiver.create(emulated).interfaceName(config.interfaceName()).rxQueues(0)
                .dmabuf(DmabufSource.emulated(4L << 20)).fragSize(FRAG);
    }

    private void awaitUnboundIfEmulated() {
        if (emulated != null) {
            Await.until("no live binding", () -> emulated.nic().liveBindings().isEmpty(),
                    () -> emulated.nic().liveBindings().toString());
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"linux", "emulated"})
    void aConsumerThatThrowsEndsTheFluxWithItsExceptionAndEveryFragComesBack(String backend) throws Exception {
        DevmemReceiver r = receiver(backend);
        InetSocketAddress addr = Peer.freeLoopbackAddress();
        AtomicReference<DevmemConnection> conn = new AtomicReference<>();
        AtomicLong next = new AtomicLong();
        IllegalStateException bug = new IllegalStateException("the consumer's bug");
        AtomicReference<Peer> peer = new AtomicReference<>();
        StepVerifier.create(r.listen(addr).take(1).flatMap(c -> {
                    conn.set(c);
                    return c.receive();
                }).doOnNext(f -> {
                    checkInOrder(f, next);
                    if (next.get() >= (1 << 20)) {
                        throw bug; // this frag is not released by the consumer: the library must reclaim it
                    }
                    f.release();
                }))
                .then(() -> {
                    peer.set(Peer.connect(addr, PATTERN));
                    peer.get().sendAsync(8L << 20, false);
                })
                .thenConsumeWhile(f -> true)
                .expectErrorSatisfies(e -> assertThat(e).isSameAs(bug))
                .verify(Await.TIMEOUT);
        StepVerifier.create(conn.get().onClose()).expectComplete().verify(Await.TIMEOUT);
        ConnectionStats s = conn.get().stats();
        assertThat(s.fragsOutstanding()).as("ledger after the error: %s", s).isZero();
        assertThat(s.fragsReturned() + s.fragsReclaimed()).as("every frag received came back: %s", s)
                .isEqualTo(s.fragsReceived());
        assertThat(next.get()).isGreaterThanOrEqualTo(1 << 20);
        awaitUnboundIfEmulated();
        peer.get().close();
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"linux", "emulated"})
    void aConsumerThatNeverReleasesGetsNoMoreThanTheBudgetPushesThePeerBackAndLosesNothing(String backend)
            throws Exception {
        int budget = 64;
        long total = 64L << 20; // more than the socket buffers and the emulated pool hold together
        DevmemReceiver r = receiver(backend).tokenBudget(budget);
        InetSocketAddress addr = Peer.freeLoopbackAddress();
        Queue<DevmemFrag> held = new ConcurrentLinkedQueue<>();
        AtomicLong delivered = new AtomicLong();
        AtomicLong bytes = new AtomicLong();
        AtomicLong next = new AtomicLong();
        AtomicReference<DevmemConnection> conn = new AtomicReference<>();
        Disposable d = r.listen(addr).take(1).flatMap(c -> {
            conn.set(c);
            return c.receive();
        }).subscribe(f -> {
            checkInOrder(f, next);
            delivered.incrementAndGet();
            // held first: the releaser stops once it sees every byte and nothing held, so a frag counted
            // before it is held could be left unreleased
            held.add(f); // never released by this consumer until the test says so
            bytes.addAndGet(f.length());
        });
        try (Peer connected = Peer.connect(addr, PATTERN)) {
            SocketChannel peer = connected.channel;
            peer.configureBlocking(false);
            PatternWriter w = new PatternWriter(peer, total);
            // Write until the peer has been pushed back: the socket takes nothing for a while and the
            // consumer's count does not move (a hang guard bounds the wait, not a timing claim). On the
            // emulated NIC the token budget is what stops reading; over the kernel's loopback the frags
            // are HOST slices, and the pinned host slabs stop it first.
            int idle = 0;
            long seen = -1;
            long deadline = System.nanoTime() + Await.TIMEOUT.toNanos();
            while (idle < 50) {
                long now = delivered.get();
                idle = w.writeSome() == 0 && now == seen ? idle + 1 : 0;
                seen = now;
                if (w.sent == total) {
                    throw new AssertionError("the peer was never pushed back: " + total + " bytes went out");
                }
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("no back-pressure state: delivered " + delivered + ", sent " + w.sent);
                }
                Thread.sleep(2);
            }
            assertThat(delivered.get()).as("frags delivered while nothing was released").isPositive()
                    .isLessThanOrEqualTo(budget);
            if (backend.equals("emulated")) {
                assertThat(delivered.get()).as("the token budget is the limit on the emulated NIC").isEqualTo(budget);
            }
            assertThat(conn.get().stats().fragsOutstanding()).isEqualTo(delivered.get());
            assertThat(w.sent).as("the peer is held back by TCP flow control").isLessThan(total);

            // Give everything back: the stream resumes and every byte arrives, in order.
            Thread releaser = Thread.ofPlatform().daemon().start(() -> {
                while (bytes.get() < total || !held.isEmpty()) {
                    DevmemFrag f = held.poll();
                    if (f != null) {
                        f.release();
                    } else {
                        LockSupport.parkNanos(100_000);
                    }
                }
            });
            while (w.sent < total) {
                if (w.writeSome() == 0) {
                    Thread.sleep(1);
                }
            }
            Await.until("all bytes delivered", () -> bytes.get() == total, () -> bytes + " of " + total);
            releaser.join(Await.TIMEOUT.toMillis());
            Await.until("ledger at zero", () -> conn.get().stats().fragsOutstanding() == 0,
                    () -> conn.get().stats().toString());
            assertThat(next.get()).isEqualTo(total);
        } finally {
            d.dispose();
        }
        StepVerifier.create(conn.get().onClose()).expectComplete().verify(Await.TIMEOUT);
        assertThat(conn.get().stats().fragsReclaimed()).isZero();
        awaitUnboundIfEmulated();
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"linux", "emulated"})
    void slowReleasesFromManyThreadsLoseNothingAndBalanceTheLedger(String backend) throws Exception {
        long total = 32L << 20;
        DevmemReceiver r = receiver(backend);
        InetSocketAddress addr = Peer.freeLoopbackAddress();
        // The hand-off from onNext must not block: onNext runs on a devmem I/O thread that BlockHound
        // watches, and an executor's LinkedBlockingQueue parks on its lock when the releasers contend.
        Queue<DevmemFrag> handed = new ConcurrentLinkedQueue<>();
        AtomicBoolean done = new AtomicBoolean();
        List<Thread> releasers = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            releasers.add(Thread.ofPlatform().name("slow-releaser-" + i).start(() -> {
                while (true) {
                    DevmemFrag f = handed.poll();
                    if (f == null) {
                        if (done.get() && handed.isEmpty()) {
                            return;
                        }
                        LockSupport.parkNanos(50_000);
                        continue;
                    }
                    LockSupport.parkNanos(ThreadLocalRandom.current().nextLong(200_000));
                    f.release();
                    f.release(); // a second release is a no-op, never a second DONTNEED
                }
            }));
        }
        AtomicLong next = new AtomicLong();
        AtomicReference<DevmemConnection> conn = new AtomicReference<>();
        try {
            StepVerifier.create(r.listen(addr).take(1).flatMap(c -> {
                        conn.set(c);
                        return c.receive();
                    }).doOnNext(f -> {
                        checkInOrder(f, next);
                        handed.add(f);
                    }).map(DevmemFrag::length).reduce(0L, Long::sum))
                    .then(() -> Peer.connect(addr, PATTERN).sendAsync(total, true))
                    .expectNext(total)
                    .expectComplete()
                    .verify(java.time.Duration.ofMinutes(2));
        } finally {
            done.set(true);
            for (Thread t : releasers) {
                t.join(TimeUnit.MINUTES.toMillis(1));
                assertThat(t.isAlive()).as("%s finished", t.getName()).isFalse();
            }
        }
        StepVerifier.create(conn.get().onClose()).expectComplete().verify(Await.TIMEOUT);
        ConnectionStats s = conn.get().stats();
        assertThat(s.fragsOutstanding()).isZero();
        assertThat(s.fragsReclaimed()).as("nothing left for the close to reclaim: %s", s).isZero();
        assertThat(s.fragsReturned()).isEqualTo(s.fragsReceived());
        assertThat(s.bytesReceived()).isEqualTo(total);
        awaitUnboundIfEmulated();
    }

    @org.junit.jupiter.api.Test
    void cancelsThatRaceTheBindingLeaveNoBindingBehind() throws Exception {
        int rounds = 40;
        EmulatedNicConfig config = EmulatedNicConfig.defaults().withRxQueues(rounds);
        emulated = DevmemBackends.emulated(config);
        DevmemReceiver base = DevmemReceiver.create(emulated).interfaceName(config.interfaceName())
                .dmabuf(DmabufSource.emulated(1L << 20)).fragSize(FRAG);
        Queue<Throwable> errors = new ConcurrentLinkedQueue<>();
        // A cancelled subscription may still be binding on its setup thread (the kernel's bind can be
        // in flight too); it must then unbind by itself. One queue per round, so rounds cannot collide.
        for (int i = 0; i < rounds; i++) {
            Disposable d = base.rxQueues(i).listen(Peer.freeLoopbackAddress()).subscribe(c -> { }, errors::add);
            if (i % 2 == 1) {
                LockSupport.parkNanos(ThreadLocalRandom.current().nextLong(2_000_000));
            }
            d.dispose();
        }
        // Bindings are only made on setup threads: once none of them has work, no cancelled round
        // can still bind, and what they bound must be gone.
        Await.until("setup threads idle", ConsumerFaultTest::setupThreadsIdle);
        awaitUnboundIfEmulated();
        assertThat(errors).as("a cancel is not an error").isEmpty();
        // Every queue can be bound again at once: nothing a cancelled round bound was left behind.
        Integer[] all = new Integer[rounds];
        java.util.Arrays.setAll(all, i -> i);
        AtomicReference<DevmemConnection> none = new AtomicReference<>();
        Disposable probe = base.rxQueues(all).listen(Peer.freeLoopbackAddress()).subscribe(none::set, errors::add);
        Await.until("all queues bound by the probe", () -> emulated.nic().queueDmabuf(rounds - 1) != 0
                || !errors.isEmpty());
        assertThat(errors).as("binding every queue again").isEmpty();
        probe.dispose();
        awaitUnboundIfEmulated();
    }

    /** Every devmem-setup thread waits for a task in its pool (none runs an open or a release). */
    private static boolean setupThreadsIdle() {
        for (var e : Thread.getAllStackTraces().entrySet()) {
            if (e.getKey().getName().startsWith("devmem-setup-") && java.util.Arrays.stream(e.getValue())
                    .noneMatch(f -> f.getMethodName().equals("getTask"))) {
                return false;
            }
        }
        return true;
    }

    private static void checkInOrder(DevmemFrag f, AtomicLong next) {
        if (f.streamPosition() != next.get()) {
            throw new AssertionError("frag at " + f.streamPosition() + ", expected " + next.get());
        }
        MemorySegment seg = f.segment();
        PATTERN.verify(seg, f.streamPosition());
        next.addAndGet(f.length());
    }

    /** Non-blocking writes of the pattern; {@link #sent} is only touched by the test thread. */
    private static final class PatternWriter {
        private final SocketChannel channel;
        private final long total;
        private final ByteBuffer buf = ByteBuffer.allocateDirect(256 * 1024);
        private final MemorySegment seg = MemorySegment.ofBuffer(buf);
        long sent;

        PatternWriter(SocketChannel channel, long total) {
            this.channel = channel;
            this.total = total;
            buf.limit(0);
        }

        int writeSome() throws IOException {
            if (!buf.hasRemaining()) {
                int n = (int) Math.min(buf.capacity(), total - sent);
                if (n == 0) {
                    return 0;
                }
                PATTERN.fill(seg.asSlice(0, n), sent);
                buf.clear().limit(n);
            }
            int w = channel.write(buf);
            sent += w;
            return w;
        }
    }
}
