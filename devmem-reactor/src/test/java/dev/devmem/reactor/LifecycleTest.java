package dev.devmem.reactor;

import dev.devmem.api.DevmemFrag;
import dev.devmem.api.DmabufSource;
import dev.devmem.reactor.rx.Scope;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.test.StepVerifier;
import reactor.test.scheduler.VirtualTimeScheduler;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Acquisition and release order, exactly once, whatever the termination. */
class LifecycleTest {

    private static NicSetup recording(List<String> log, FakeBackend backend) {
        return t -> {
            log.add("nic-apply");
            backend.events.add("nic-apply");
            return () -> backend.events.add("nic-undo");
        };
    }

    @Test
    void listenServesSeveralConnectionsAndCancelUndoesEverythingInReverse() {
        FakeHarness h = new FakeHarness();
        List<String> log = Collections.synchronizedList(new ArrayList<>());
        DevmemReceiver r = h.receiver().nicSetup(recording(log, h.backend));
        List<Long> positions = Collections.synchronizedList(new ArrayList<>());
        Disposable d = r.listen(h.address)
                .flatMap(c -> c.receive().doOnNext(f -> {
                    positions.add(f.streamPosition());
                    f.release();
                }))
                .subscribe();
        FakeBackend.FakeSocket a = h.peer();
        FakeBackend.FakeSocket b = h.backend.peerConnect(h.port);
        a.send(10 * 4096);
        b.send(7 * 4096);
        Await.until("17 frags from two connections", () -> positions.size() == 17);
        d.dispose();
        h.awaitAllClosed();
        List<String> ev = h.backend.events;
        assertThat(ev.subList(0, 3)).containsExactly("nic-apply", "bind", "listen");
        assertThat(ev.subList(ev.size() - 2, ev.size())).containsExactly("unbind", "nic-undo");
        assertThat(ev).containsOnlyOnce("listener-close", "unbind", "nic-undo");
        assertThat(ev.stream().filter("socket-close"::equals).count()).isEqualTo(2);
        assertThat(ev.indexOf("listener-close")).isLessThan(ev.indexOf("unbind"));
        assertThat(ev.lastIndexOf("socket-close")).isLessThan(ev.indexOf("unbind"));
    }

    @Test
    void connectHoldsTheBindingUntilTheConnectionCloses() {
        FakeHarness h = new FakeHarness();
        DevmemReceiver r = h.receiver().nicSetup(recording(new ArrayList<>(), h.backend));
        DevmemConnection c = r.connect(new InetSocketAddress("127.0.0.1", 9)).block(Await.TIMEOUT);
        assertThat(c).isNotNull();
        assertThat(h.backend.openBindings()).isEqualTo(1);
        FakeBackend.FakeSocket s = h.backend.sockets.get(0);
        s.send(5 * 4096 + 10);
        s.shutdownPeer();
        StepVerifier.create(c.receive().doOnNext(DevmemFrag::release).map(DevmemFrag::length).reduce(0, Integer::sum))
                .expectNext(5 * 4096 + 10)
                .verifyComplete();
        h.awaitAllClosed();
        assertThat(h.backend.events).containsExactly("nic-apply", "bind", "connect", "socket-close", "unbind",
                "nic-undo");
    }

    @Test
    void cancelWhileBindingIsInProgressReleasesWhatWasAcquired() throws Exception {
        FakeHarness h = new FakeHarness();
        CountDownLatch gate = new CountDownLatch(1);
        h.backend.bindGate = gate;
        Disposable d = h.receiver().nicSetup(recording(new ArrayList<>(), h.backend)).receiveOne(h.address).subscribe();
        Await.until("bind in progress", () -> h.backend.bindCalls.get() == 1);
        d.dispose();
        gate.countDown();
        h.awaitAllClosed();
        assertThat(h.backend.events).containsExactly("nic-apply", "bind", "listen", "listener-close", "unbind",
                "nic-undo");
    }

    @Test
    void emittedConnectionsNobodySubscribedAreClosedWhenListenEnds() {
        FakeHarness h = new FakeHarness();
        AtomicReference<DevmemConnection> conn = new AtomicReference<>();
        Disposable d = h.receiver().listen(h.address).subscribe(conn::set);
        h.peer();
        Await.until("connection", () -> conn.get() != null);
        d.dispose();
        h.awaitAllClosed();
        assertThat(conn.get().isDisposed()).isTrue();
        StepVerifier.create(conn.get().receive()).expectError(IllegalStateException.class).verify(Await.TIMEOUT);
    }

    @Test
    void budgetLargerThanTheDmabufIsRefused() {
        FakeHarness h = new FakeHarness();
        StepVerifier.create(h.receiver(1 << 20).tokenBudget(257).receiveOne(h.address))
                .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(IllegalArgumentException.class)
                        .hasMessageContaining("exceeds the 256 frags"))
                .verify(Await.TIMEOUT);
        h.awaitAllClosed();
    }

    @Test
    void configurationIsImmutableAndValidated() {
        FakeHarness h = new FakeHarness();
        DevmemReceiver base = DevmemReceiver.create(h.backend);
        DevmemReceiver changed = base.tokenBudget(10).batchSize(4).releaseFlushDelay(Duration.ofMillis(1));
        assertThat(base.tokenBudget()).isZero();
        assertThat(base.batchSize()).isEqualTo(DevmemReceiver.Defaults.BATCH_SIZE);
        assertThat(changed.tokenBudget()).isEqualTo(10);
        assertThat(changed.batchSize()).isEqualTo(4);
        assertThat(base.bindingSpec()).isNull();
        assertThatThrownBy(() -> base.tokenBudget(0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> base.batchSize(0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> base.releaseFlushDelay(Duration.ofMillis(-1))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> base.meterRegistry(null)).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> base.interfaceName("eth0").bindingSpec()).isInstanceOf(IllegalStateException.class);
        assertThat(base.interfaceName("eth0").rxQueues(1).dmabuf(DmabufSource.emulated(4096)).bindingSpec().rxQueues())
                .containsExactly(1);
        assertThat(Scope.defaultBudget(16384)).isEqualTo(12288);
        assertThat(Scope.defaultBudget(1024)).isEqualTo(512);
        assertThat(Scope.defaultBudget(1)).isEqualTo(1);
    }

    @Test
    void stallsAndGaugesAreMetered() {
        FakeHarness h = new FakeHarness();
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        List<DevmemFrag> held = Collections.synchronizedList(new ArrayList<>());
        AtomicReference<FakeBackend.FakeSocket> s = new AtomicReference<>();
        Flux<DevmemFrag> f = h.receiver().meterRegistry(meters).tokenBudget(4).receiveOne(h.address);
        StepVerifier.create(f.doOnNext(held::add), 2)
                .then(() -> {
                    s.set(h.peer());
                    s.get().send(20 * 4096);
                })
                .expectNextCount(2)
                .then(h::awaitIdle)
                .then(() -> {
                    assertThat(meters.get("devmem.stalls").tags("reason", "demand").counter().count()).isEqualTo(1);
                    assertThat(meters.get("devmem.bindings.active").gauge().value()).isEqualTo(1);
                    assertThat(meters.get("devmem.connections.active").gauge().value()).isEqualTo(1);
                    assertThat(meters.get("devmem.tokens.outstanding").gauge().value()).isEqualTo(2);
                })
                .thenRequest(10)
                .expectNextCount(2)
                .then(h::awaitIdle)
                .then(() -> assertThat(meters.get("devmem.stalls").tags("reason", "tokens").counter().count()).isEqualTo(1))
                .then(() -> ReceiveTest.releaseFirst(held, held.size()))
                .expectNextCount(4)
                .thenCancel()
                .verify(Await.TIMEOUT);
        ReceiveTest.releaseFirst(held, held.size()); // after the cancel: the socket closes once they are back
        h.awaitAllClosed();
        Await.until("gauges back to 0", () -> meters.get("devmem.bindings.active").gauge().value() == 0
                && meters.get("devmem.connections.active").gauge().value() == 0
                && meters.get("devmem.tokens.outstanding").gauge().value() == 0);
        assertThat(meters.get("devmem.received.frags").tags("kind", "dmabuf").counter().count()).isEqualTo(8);
        assertThat(meters.get("devmem.returned.frags").counter().count()).isEqualTo(8);
        assertThat(meters.get("devmem.dontneed.calls").counter().count()).isEqualTo(h.backend.sockets.get(0).dontneedCalls());
        assertThat(meters.get("devmem.receive.batch").summary().totalAmount()).isEqualTo(8);
    }

    /**
     * A token budget of the whole pool: frags released by the consumer are queued for DONTNEED but
     * still hold their NIC buffers, so the next receive finds none free. The loop must see that only
     * returning the queued releases helps and flush them at once (a stall by "buffers"), not wait
     * for the idle flush, which is an hour away here: without that the stream stops.
     */
    @Test
    void starvedOfBuffersTheLoopFlushesQueuedReleasesAtOnce() {
        FakeHarness h = new FakeHarness();
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        int pool = 8;
        Flux<DevmemFrag> f = h.receiver((long) pool * 4096).tokenBudget(pool).meterRegistry(meters)
                .releaseFlushDelay(Duration.ofHours(1)).receiveOne(h.address);
        AtomicReference<FakeBackend.FakeSocket> s = new AtomicReference<>();
        StepVerifier.create(f.doOnNext(frag -> {
                    FakeHarness.assertPattern(frag);
                    frag.release();
                }).take(5L * pool, true))
                .then(() -> {
                    s.set(h.peer());
                    s.get().send(5L * pool * 4096);
                })
                .expectNextCount(5L * pool)
                .expectComplete()
                .verify(Await.TIMEOUT);
        h.awaitAllClosed();
        assertThat(meters.get("devmem.stalls").tags("reason", "buffers").counter().count()).isGreaterThanOrEqualTo(4);
        assertThat(meters.get("devmem.received.frags").tags("kind", "dmabuf").counter().count()).isEqualTo(5 * pool);
        synchronized (h.backend.lock) {
            assertThat(s.get().tokensReturned).as("every token back through DONTNEED").isEqualTo(5L * pool);
        }
    }

    /**
     * The stream ended with frags still held. Each later release must wake the loop, so the socket
     * closes when the last one is back; no timer may be needed for that (this one never fires).
     * Under CI load a releaser that lags behind the end of the stream hit exactly this.
     */
    @Test
    void afterTheEndTheLastReleaseClosesTheSocketWithoutATimer() {
        FakeHarness h = new FakeHarness();
        VirtualTimeScheduler timer = VirtualTimeScheduler.create(); // never advanced
        try {
            Flux<DevmemFrag> f = h.receiver().timer(timer).receiveOne(h.address);
            reactor.core.publisher.Mono<List<DevmemFrag>> all = f.collectList();
            AtomicReference<List<DevmemFrag>> held = new AtomicReference<>();
            StepVerifier.create(all)
                    .then(() -> {
                        FakeBackend.FakeSocket s = h.peer();
                        s.send(8 * 4096);
                        s.shutdownPeer();
                    })
                    .consumeNextWith(held::set)
                    .expectComplete()
                    .verify(Await.TIMEOUT);
            assertThat(held.get()).hasSize(8);
            h.awaitIdle();
            assertThat(h.backend.openSockets()).as("frags are still held").isEqualTo(1);
            for (DevmemFrag frag : held.get().subList(0, 7)) {
                frag.release();
            }
            h.awaitIdle();
            assertThat(h.backend.openSockets()).as("one frag is still held").isEqualTo(1);
            held.get().get(7).release();
            h.awaitAllClosed();
            synchronized (h.backend.lock) {
                assertThat(h.backend.sockets.get(0).tokensReturned).isEqualTo(8);
            }
        } finally {
            timer.dispose();
        }
    }
}
