package dev.devmem.reactor;

import dev.devmem.api.DevmemFrag;
import dev.devmem.api.DmabufSource;
import dev.devmem.ffm.DevmemBackends;
import dev.devmem.ffm.emulated.EmulatedBackend;
import dev.devmem.ffm.emulated.EmulatedNicConfig;
import dev.devmem.ffm.testing.NetcatPattern;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The token budget belongs to the binding: the connections of one {@code listen()} share it. Sixteen
 * connections on a small pool, released late on other threads: every one of them gets all of its
 * bytes (none starves the others forever), the frags held across all of them never exceed the
 * budget (checked at every onNext), and the ledger is back at 0 at the end.
 */
class SharedBudgetTest {
    private static final int CONNECTIONS = 16;
    private static final int BUDGET = 24;

    /** Frags held by the application across all connections: delivered and not yet released. */
    private final AtomicInteger held = new AtomicInteger();
    private final AtomicInteger maxHeld = new AtomicInteger();
    private final AtomicReference<Throwable> overBudget = new AtomicReference<>();

    private void delivered(DevmemFrag f) {
        int now = held.incrementAndGet();
        maxHeld.accumulateAndGet(now, Math::max);
        if (now > BUDGET) {
            overBudget.compareAndSet(null, new AssertionError(now + " frags held across the connections, budget "
                    + BUDGET + " (at " + f + ")"));
        }
    }

    private void release(DevmemFrag f) {
        held.decrementAndGet(); // before the release: the credit comes back only after it
        f.release();
    }

    /** Each connection's bytes: received in order and checked, released on {@code releasers}. */
    private Flux<Long> receiveAll(DevmemReceiver r, InetSocketAddress at, Scheduler releasers,
                                  java.util.function.Consumer<DevmemFrag> check) {
        return r.listen(at).take(CONNECTIONS)
                .flatMap(c -> c.receive()
                        .doOnNext(this::delivered)
                        .doOnNext(check)
                        .publishOn(releasers, 16)
                        .doOnNext(this::release)
                        .map(f -> (long) f.length())
                        .reduce(0L, Long::sum), CONNECTIONS);
    }

    @Test
    void sixteenConnectionsShareTheBudgetOnTheFakeBackend() {
        FakeHarness h = new FakeHarness();
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        long perConnection = 40 * 4096L;
        Scheduler releasers = Schedulers.newParallel("releaser", 3);
        try {
            DevmemReceiver r = h.receiver(64 * 4096L).tokenBudget(BUDGET).meterRegistry(meters)
                    .releaseFlushDelay(Duration.ofMillis(1));
            var done = receiveAll(r, h.address, releasers, FakeHarness::assertPattern).collectList().toFuture();
            List<FakeBackend.FakeSocket> peers = new ArrayList<>();
            for (int i = 0; i < CONNECTIONS; i++) {
                FakeBackend.FakeSocket s = h.peer();
                s.send(perConnection);
                s.shutdownPeer();
                peers.add(s);
            }
            List<Long> bytes = done.orTimeout(Await.TIMEOUT.toSeconds(), java.util.concurrent.TimeUnit.SECONDS).join();
            assertThat(bytes).hasSize(CONNECTIONS).allSatisfy(b -> assertThat(b).isEqualTo(perConnection));
            assertThat(overBudget.get()).isNull();
            assertThat(maxHeld.get()).isPositive().isLessThanOrEqualTo(BUDGET);
            h.awaitAllClosed();
            assertThat(held.get()).isZero();
            synchronized (h.backend.lock) {
                for (FakeBackend.FakeSocket s : peers) {
                    assertThat(s.tokensReturned).as("every token of " + s + " back through DONTNEED").isEqualTo(40);
                }
            }
            assertThat(meters.get("devmem.tokens.outstanding").gauge().value()).isZero();
            assertThat(meters.get("devmem.reclaimed.frags").counter().count()).isZero();
        } finally {
            releasers.dispose();
        }
    }

    /**
     * Sixteen consumers that keep every frag until the loops have parked: together they hold exactly
     * the budget (a budget per connection would let each of them take it), then, released, every
     * connection gets all of its bytes. Deterministic where the releasing test above depends on how
     * the connections' frags overlap in time.
     */
    @Test
    void sixteenConsumersKeepingTheirFragsHoldTheBudgetTogetherOnTheFakeBackend() {
        FakeHarness h = new FakeHarness();
        long perConnection = 40 * 4096L;
        Queue<DevmemFrag> kept = new ConcurrentLinkedQueue<>();
        AtomicLong bytes = new AtomicLong();
        DevmemReceiver r = h.receiver(64 * 4096L).tokenBudget(BUDGET).releaseFlushDelay(Duration.ofMillis(1));
        Disposable d = r.listen(h.address).take(CONNECTIONS).flatMap(DevmemConnection::receive, CONNECTIONS)
                .subscribe(f -> {
                    delivered(f);
                    FakeHarness.assertPattern(f);
                    bytes.addAndGet(f.length());
                    kept.add(f);
                });
        try {
            for (int i = 0; i < CONNECTIONS; i++) {
                FakeBackend.FakeSocket s = h.peer();
                s.send(perConnection);
                s.shutdownPeer();
            }
            Await.until("the budget is held", () -> held.get() >= BUDGET, () -> held + " held");
            try {
                h.awaitIdle();
            } finally {
                assertThat(overBudget.get()).isNull(); // the cause, when more than the budget keeps them busy
            }
            assertThat(held.get()).as("frags held across the connections once every loop parked").isEqualTo(BUDGET);
            long total = CONNECTIONS * perConnection;
            Await.until("every byte of every connection, releasing as they come", () -> {
                DevmemFrag f;
                while ((f = kept.poll()) != null) {
                    release(f);
                }
                return bytes.get() == total;
            }, () -> bytes + " of " + total + " bytes");
            h.awaitAllClosed();
            assertThat(overBudget.get()).isNull();
            assertThat(held.get()).isZero();
        } finally {
            d.dispose();
        }
    }

    /** The optional fairness limit: no connection holds more than its share, all still finish. */
    @Test
    void aPerConnectionLimitCapsEachConnectionWithinTheSharedBudget() {
        FakeHarness h = new FakeHarness();
        int limit = 3;
        long perConnection = 20 * 4096L;
        Scheduler releasers = Schedulers.newParallel("releaser", 3);
        try {
            DevmemReceiver r = h.receiver(64 * 4096L).tokenBudget(BUDGET).connectionTokenLimit(limit)
                    .releaseFlushDelay(Duration.ofMillis(1));
            List<DevmemConnection> connections = java.util.Collections.synchronizedList(new ArrayList<>());
            var done = r.listen(h.address).take(CONNECTIONS)
                    .doOnNext(connections::add)
                    .flatMap(c -> c.receive()
                            .doOnNext(this::delivered)
                            .publishOn(releasers, 16)
                            .doOnNext(this::release)
                            .map(f -> (long) f.length())
                            .reduce(0L, Long::sum), CONNECTIONS)
                    .collectList().toFuture();
            for (int i = 0; i < CONNECTIONS; i++) {
                FakeBackend.FakeSocket s = h.peer();
                s.send(perConnection);
                s.shutdownPeer();
            }
            List<Long> bytes = done.orTimeout(Await.TIMEOUT.toSeconds(), java.util.concurrent.TimeUnit.SECONDS).join();
            assertThat(bytes).hasSize(CONNECTIONS).allSatisfy(b -> assertThat(b).isEqualTo(perConnection));
            assertThat(overBudget.get()).isNull();
            h.awaitAllClosed();
            synchronized (connections) {
                assertThat(connections).hasSize(CONNECTIONS).allSatisfy(c -> assertThat(c.stats().maxOutstanding())
                        .as("most frags " + c + " held").isBetween(1L, (long) limit));
            }
        } finally {
            releasers.dispose();
        }
    }

    @Test
    void sixteenConnectionsShareTheBudgetOnTheEmulatedNic() throws Exception {
        NetcatPattern pattern = NetcatPattern.kernelDoc();
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        long perConnection = 1L << 20;
        Scheduler releasers = Schedulers.newParallel("releaser", 3);
        EmulatedNicConfig config = EmulatedNicConfig.defaults().withRxQueues(1);
        try (EmulatedBackend backend = DevmemBackends.emulated(config)) {
            DevmemReceiver r = DevmemReceiver.create(backend).interfaceName(config.interfaceName()).rxQueues(0)
                    .dmabuf(DmabufSource.emulated(1L << 20)).tokenBudget(BUDGET).meterRegistry(meters);
            InetSocketAddress at = Peer.freeLoopbackAddress();
            // per connection, the next stream position expected (each connection has its own stream)
            ConcurrentHashMap<Object, Long> next = new ConcurrentHashMap<>();
            var done = r.listen(at).take(CONNECTIONS)
                    .flatMap(c -> c.receive()
                            .doOnNext(this::delivered)
                            .doOnNext(f -> {
                                long expected = next.getOrDefault(c, 0L);
                                assertThat(f.streamPosition()).isEqualTo(expected);
                                pattern.verify(f.segment(), f.streamPosition());
                                next.put(c, expected + f.length());
                            })
                            .publishOn(releasers, 16)
                            .doOnNext(this::release)
                            .map(f -> (long) f.length())
                            .reduce(0L, Long::sum), CONNECTIONS)
                    .collectList().toFuture();
            List<Peer> peers = new ArrayList<>();
            for (int i = 0; i < CONNECTIONS; i++) {
                Peer p = Peer.connect(at, pattern);
                p.sendAsync(perConnection, true);
                peers.add(p);
            }
            List<Long> bytes = done.orTimeout(Await.TIMEOUT.toSeconds() * 4, java.util.concurrent.TimeUnit.SECONDS)
                    .join();
            for (Peer p : peers) {
                p.close();
            }
            assertThat(bytes).hasSize(CONNECTIONS).allSatisfy(b -> assertThat(b).isEqualTo(perConnection));
            assertThat(overBudget.get()).isNull();
            assertThat(maxHeld.get()).isPositive().isLessThanOrEqualTo(BUDGET);
            Await.until("every connection closed", () -> meters.get("devmem.connections.active").gauge().value() == 0);
            Await.until("the binding is gone", () -> backend.nic().liveBindings().isEmpty());
            assertThat(held.get()).isZero();
            double received = meters.find("devmem.received.frags").counters().stream().mapToDouble(c -> c.count()).sum();
            assertThat(meters.get("devmem.returned.frags").counter().count()).isEqualTo(received);
            assertThat(meters.get("devmem.reclaimed.frags").counter().count()).isZero();
            assertThat(meters.get("devmem.tokens.outstanding").gauge().value()).isZero();
        } finally {
            releasers.dispose();
        }
    }
}
