package dev.devmem.reactor;

import dev.devmem.api.DevmemFrag;
import org.junit.jupiter.api.Test;
import org.reactivestreams.Subscription;
import reactor.core.publisher.BaseSubscriber;
import reactor.test.util.RaceTestUtils;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A leak suite in the spirit of reactor-core's AbstractOnDiscardShouldNotLeakTest: many rounds of
 * cancel racing releases and requests, on loops shared by every round; after each round the ledger
 * must balance with nothing reclaimed and no release reaching the socket twice.
 */
class RaceTest {

    @Test
    void cancelRacingReleasesAndRequestsNeverLeaksNorDoubleReleases() throws Exception {
        FakeBackend backend = new FakeBackend();
        DevmemLoops loops = DevmemLoops.create(backend, 2);
        try {
            for (int round = 0; round < 60; round++) {
                FakeHarness h = new FakeHarness(backend);
                DevmemReceiver r = h.receiver().loops(loops).closeGracePeriod(Duration.ofSeconds(30));
                List<DevmemFrag> held = Collections.synchronizedList(new ArrayList<>());
                AtomicReference<DevmemConnection> conn = new AtomicReference<>();
                AtomicReference<Subscription> sub = new AtomicReference<>();
                r.listen(h.address).take(1).flatMap(c -> {
                    conn.set(c);
                    return c.receive();
                }).doOnDiscard(DevmemFrag.class, DevmemFrag::release) // flatMap's inner queue, on cancel
                        .subscribe(new BaseSubscriber<>() {
                    @Override
                    protected void hookOnSubscribe(Subscription s) {
                        sub.set(s);
                        s.request(16);
                    }

                    @Override
                    protected void hookOnNext(DevmemFrag f) {
                        held.add(f);
                    }
                });
                FakeBackend.FakeSocket s = h.peer();
                s.send(64 * 4096);
                Await.until("16 frags", () -> held.size() == 16);
                List<DevmemFrag> first = new ArrayList<>(held);
                RaceTestUtils.race(
                        () -> sub.get().cancel(),
                        () -> first.forEach(DevmemFrag::release),
                        () -> sub.get().request(8),
                        () -> first.forEach(DevmemFrag::release));
                // whatever arrived before the cancel took effect is released too
                DevmemConnection c = conn.get();
                int rnd = round;
                Await.until("connection closed", () -> {
                    new ArrayList<>(held).forEach(DevmemFrag::release);
                    return c.stats().closed();
                }, () -> "round " + rnd + " " + c.stats() + " held " + held.size() + " released "
                        + new ArrayList<>(held).stream().filter(DevmemFrag::isReleased).count());
                ConnectionStats st = c.stats();
                assertThat(st.fragsReclaimed()).as("round %d: %s", round, st).isZero();
                assertThat(st.fragsReceived()).isEqualTo(st.fragsReturned());
                assertThat(s.unknownReleases).as("round %d", round).isZero();
                assertThat(s.closed).isTrue();
            }
            Await.until("bindings closed", () -> backend.openBindings() == 0 && backend.openSockets() == 0
                    && backend.openListeners() == 0);
            assertThat(backend.violation.get()).isNull();
        } finally {
            loops.dispose();
        }
        assertThat(loops.awaitTermination(Await.TIMEOUT)).isTrue();
        assertThat(backend.openWaiters()).isZero();
    }
}
