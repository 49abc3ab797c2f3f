package dev.devmem.reactor;

import dev.devmem.api.DevmemFrag;
import dev.devmem.api.Errno;
import dev.devmem.api.FragKind;
import dev.devmem.api.SyscallException;
import dev.devmem.ffm.testing.Theories;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.quicktheories.api.Pair;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.Generate;
import org.quicktheories.generators.SourceDSL;
import org.reactivestreams.Subscription;
import reactor.core.publisher.BaseSubscriber;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The reactive gate (downstream demand x token budget) over the fake backend, under random
 * schedules that QuickTheories generates and shrinks: a peer sending in bursts, {@code request(n)}
 * of random sizes, releases of random delivered frags from four threads at once (some released
 * twice, racing), and an end by cancel, by a connection reset, or by the peer's EOF with the rest
 * drained. At every {@code onNext} the frags outstanding stay within the token budget and the frags
 * delivered within the demand; every byte is the peer's, in stream order; in the end every frag was
 * handed back exactly once (the socket saw no unknown release, every token went back by DONTNEED,
 * none was reclaimed by closing), the connection's ledger is 0 and every resource is closed.
 */
class GatePropertyTest {
    /** 300 schedules in bin/test (each a real listen, accept, stream and close over the fake backend). */
    static final int CASES = 300;
    private static FakeBackend backend;
    private static DevmemLoops loops;
    private static ExecutorService releasers;

    enum Kind { SEND, REQUEST, RELEASE, RELEASE_TWICE, SETTLE }

    record Step(Kind kind, int n) {
        @Override
        public String toString() {
            return kind.name().toLowerCase() + "(" + n + ")";
        }
    }

    enum End { CANCEL, RESET, EOF_AND_DRAIN }

    record Schedule(int budget, int batchSize, int spareFrags, List<Step> steps, End end) {
        /** The dmabuf's frags: at least the budget (the receiver refuses a budget the dmabuf cannot hold). */
        int poolFrags() {
            return budget + spareFrags;
        }
    }

    static Gen<Step> steps() {
        return Generate.frequency(List.of(
                Pair.of(3, SourceDSL.integers().between(1, 40 * 4096).map(n -> new Step(Kind.SEND, n))),
                Pair.of(4, SourceDSL.integers().between(1, 20).map(n -> new Step(Kind.REQUEST, n))),
                Pair.of(4, SourceDSL.integers().between(1, 16).map(n -> new Step(Kind.RELEASE, n))),
                Pair.of(1, SourceDSL.integers().between(1, 4).map(n -> new Step(Kind.RELEASE_TWICE, n))),
                Pair.of(1, Generate.constant(new Step(Kind.SETTLE, 0)))));
    }

    static Gen<Schedule> schedules() {
        return SourceDSL.integers().between(1, 24).zip(SourceDSL.integers().between(1, 8),
                SourceDSL.integers().between(0, 24), SourceDSL.lists().of(steps()).ofSizeBetween(0, 30),
                Generate.enumValues(End.class), Schedule::new);
    }

    @BeforeAll
    static void start() throws Exception {
        backend = new FakeBackend();
        loops = DevmemLoops.create(backend, 2);
        releasers = Executors.newFixedThreadPool(4, r -> {
            Thread t = new Thread(r, "releaser");
            t.setDaemon(true);
            return t;
        });
    }

    @AfterAll
    static void stop() throws Exception {
        releasers.shutdown();
        loops.dispose();
        assertThat(loops.awaitTermination(Await.TIMEOUT)).isTrue();
        assertThat(releasers.awaitTermination(20, TimeUnit.SECONDS)).isTrue();
        assertThat(backend.openWaiters()).isZero();
    }

    @Test
    void outstandingStaysWithinBudgetAndDemandAndEveryFragComesBackOnce() {
        Theories.qt(0x6A7E_5EEDL, CASES).forAll(schedules()).checkAssert(this::run);
        Await.until("everything closed", () -> backend.openBindings() == 0 && backend.openSockets() == 0
                && backend.openListeners() == 0);
        assertThat(backend.violation.get()).isNull();
    }

    private void run(Schedule sc) {
        FakeHarness h = new FakeHarness(backend);
        DevmemReceiver receiver = h.receiver((long) sc.poolFrags() * backend.fragSize).loops(loops)
                .tokenBudget(sc.budget()).batchSize(sc.batchSize()).closeGracePeriod(Duration.ofSeconds(30));
        Gate gate = new Gate(sc.budget());
        AtomicReference<DevmemConnection> conn = new AtomicReference<>();
        AtomicReference<Throwable> listenError = new AtomicReference<>();
        receiver.listen(h.address).take(1).subscribe(c -> {
            conn.set(c);
            gate.connection = c;
            c.receive().subscribe(gate); // inside onNext, before take(1) ends the listen scope
        }, listenError::set);
        Await.until("listening", () -> backend.byPort.containsKey(h.port) || listenError.get() != null,
                () -> sc + " " + listenError.get());
        assertThat(listenError.get()).as("%s", sc).isNull();
        FakeBackend.FakeSocket s = h.peer();
        Await.until("subscribed", () -> gate.subscription.get() != null);
        for (Step step : sc.steps()) {
            switch (step.kind()) {
                case SEND -> s.send(step.n());
                case REQUEST -> gate.ask(step.n());
                case RELEASE -> gate.releaseSome(step.n(), false);
                case RELEASE_TWICE -> gate.releaseSome(step.n(), true);
                case SETTLE -> h.awaitIdle();
            }
        }
        switch (sc.end()) {
            case CANCEL -> gate.subscription.get().cancel();
            case RESET -> s.failNextReceive(new SyscallException("recvmsg", Errno.ECONNRESET));
            case EOF_AND_DRAIN -> {
                gate.drain = true;
                gate.releaseSome(Integer.MAX_VALUE, false);
                s.shutdownPeer();
                gate.ask(Long.MAX_VALUE);
            }
        }
        if (sc.end() == End.RESET) {
            gate.ask(1); // the loop must read to meet the reset
        }
        DevmemConnection c = conn.get();
        Await.until("connection closed", () -> {
            gate.releaseSome(Integer.MAX_VALUE, false);
            return c.stats().closed() && gate.releasesDone();
        }, () -> sc + " " + c.stats() + " held " + gate.held.size());
        c.onClose().block(Await.TIMEOUT); // closed, and every frag accounted for
        assertThat(gate.violation.get()).as("%s", sc).isNull();
        if (sc.end() == End.RESET) {
            assertThat(gate.error.get()).as("%s: the reset reaches the subscriber", sc)
                    .isInstanceOf(SyscallException.class);
        }
        if (sc.end() == End.EOF_AND_DRAIN) {
            assertThat(gate.completed).as("%s: EOF completes the stream", sc).isTrue();
            assertThat(gate.bytes.get()).as("%s: every byte sent arrived", sc).isEqualTo(sentBytes(sc));
        }
        ConnectionStats st = c.stats();
        assertThat(st.fragsOutstanding()).as("%s: %s", sc, st).isZero();
        assertThat(st.fragsReclaimed()).as("%s: %s", sc, st).isZero();
        assertThat(st.fragsReceived()).as("%s: %s", sc, st).isEqualTo(st.fragsReturned());
        assertThat(st.maxOutstanding()).as("%s", sc).isLessThanOrEqualTo(sc.budget());
        assertThat(s.unknownReleases).as("%s: no frag reached the socket twice", sc).isZero();
        assertThat(s.closed).isTrue();
        assertThat(s.tokensReturned).as("%s: every token went back by DONTNEED, none by close", sc)
                .isEqualTo(s.fragsByKind[FragKind.DMABUF.ordinal()]);
        Await.until("socket, listener and binding closed", () -> backend.openSockets() == 0
                && backend.openListeners() == 0 && backend.openBindings() == 0, () -> sc + " " + backend.events);
        h.assertNoViolation();
    }

    private static long sentBytes(Schedule sc) {
        return sc.steps().stream().filter(s -> s.kind() == Kind.SEND).mapToLong(Step::n).sum();
    }

    /** The subscriber: checks the gate at every onNext and keeps what it was given until released. */
    private final class Gate extends BaseSubscriber<DevmemFrag> {
        final int budget;
        final AtomicReference<Subscription> subscription = new AtomicReference<>();
        final AtomicReference<String> violation = new AtomicReference<>();
        final AtomicReference<Throwable> error = new AtomicReference<>();
        final List<DevmemFrag> held = new ArrayList<>();
        final AtomicLong requested = new AtomicLong();
        final AtomicLong delivered = new AtomicLong();
        final AtomicLong bytes = new AtomicLong();
        final AtomicLong releasesPending = new AtomicLong();
        volatile DevmemConnection connection;
        volatile boolean drain;
        volatile boolean completed;
        long next;

        Gate(int budget) {
            this.budget = budget;
        }

        @Override
        protected void hookOnSubscribe(Subscription s) {
            subscription.set(s);
        }

        void ask(long n) {
            requested.accumulateAndGet(n, (a, b) -> a + b < 0 ? Long.MAX_VALUE : a + b);
            subscription.get().request(n);
        }

        @Override
        protected void hookOnNext(DevmemFrag f) {
            long outstanding = connection.stats().fragsOutstanding();
            if (outstanding > budget) {
                violation.compareAndSet(null, "onNext with " + outstanding + " outstanding, budget " + budget);
            }
            if (delivered.incrementAndGet() > requested.get()) {
                violation.compareAndSet(null, "frag " + delivered.get() + " delivered for " + requested.get() + " requested");
            }
            if (f.streamPosition() != next) {
                violation.compareAndSet(null, "frag at " + f.streamPosition() + ", expected " + next);
            }
            next = f.streamPosition() + f.length();
            bytes.addAndGet(f.length());
            try {
                FakeHarness.assertPattern(f);
            } catch (AssertionError e) {
                violation.compareAndSet(null, e.getMessage());
            }
            if (drain) {
                f.release();
                return;
            }
            synchronized (held) {
                held.add(f);
            }
        }

        @Override
        protected void hookOnComplete() {
            completed = true;
        }

        @Override
        protected void hookOnError(Throwable t) {
            error.set(t);
        }

        /** Releases up to {@code n} held frags, oldest first, each from one of the releaser threads. */
        void releaseSome(int n, boolean twice) {
            List<DevmemFrag> out = new ArrayList<>();
            synchronized (held) {
                while (out.size() < n && !held.isEmpty()) {
                    out.add(held.removeFirst());
                }
            }
            for (DevmemFrag f : out) {
                int times = twice ? 2 : 1;
                for (int i = 0; i < times; i++) {
                    releasesPending.incrementAndGet();
                    releasers.execute(() -> {
                        try {
                            f.release();
                        } finally {
                            releasesPending.decrementAndGet();
                        }
                    });
                }
            }
        }

        boolean releasesDone() {
            return releasesPending.get() == 0;
        }
    }
}
