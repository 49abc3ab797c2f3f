package dev.devmem.reactor;

import dev.devmem.api.DevmemFrag;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import reactor.test.StepVerifier;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Frags dropped by operators come back through Reactor's discard hook: nothing is left for the close
 * to reclaim ({@code fragsReclaimed == 0}). A control case without the hook shows the test can fail.
 */
class DiscardTest {

    private static ConnectionStats run(Function<Flux<DevmemFrag>, Flux<?>> chain, boolean withHook, int frags) {
        FakeHarness h = new FakeHarness();
        AtomicReference<DevmemConnection> conn = new AtomicReference<>();
        Flux<?> flux = h.receiver().closeGracePeriod(Duration.ofMillis(50)).listen(h.address)
                .take(1)
                .flatMap(c -> {
                    conn.set(c);
                    return withHook ? c.receive(f -> chain.apply(f)) : chain.apply(c.receive());
                });
        StepVerifier.create(flux)
                .then(() -> {
                    FakeBackend.FakeSocket s = h.peer();
                    s.send((long) frags * 4096);
                    s.shutdownPeer();
                })
                .thenConsumeWhile(x -> true)
                .verifyComplete();
        h.awaitAllClosed();
        ConnectionStats st = conn.get().stats();
        assertThat(st.fragsOutstanding()).isZero();
        assertThat(st.fragsReceived()).isEqualTo(st.fragsReturned() + st.fragsReclaimed());
        return st;
    }

    @Test
    void filterDropsAreReleased() {
        ConnectionStats st = run(f -> f.filter(x -> x.streamPosition() % (3 * 4096) == 0).doOnNext(DevmemFrag::release),
                true, 30);
        assertThat(st.fragsReceived()).isEqualTo(30);
        assertThat(st.fragsReclaimed()).isZero();
    }

    @Test
    void withoutTheHookFilterDropsLeakUntilTheCloseReclaimsThem() {
        ConnectionStats st = run(f -> f.filter(x -> x.streamPosition() % (3 * 4096) == 0).doOnNext(DevmemFrag::release),
                false, 30);
        assertThat(st.fragsReclaimed()).as("the control: filtered frags were never released").isEqualTo(20);
    }

    @Test
    void takeStopsReadingAndLeavesNothingBehind() {
        ConnectionStats st = run(f -> f.take(3).doOnNext(DevmemFrag::release), true, 50);
        assertThat(st.fragsReclaimed()).isZero();
        assertThat(st.fragsReceived()).isLessThan(50);
    }

    @Test
    void limitRatePrefetchIsReleasedOnCancel() {
        ConnectionStats st = run(f -> f.limitRate(16).take(5).doOnNext(DevmemFrag::release), true, 64);
        assertThat(st.fragsReclaimed()).isZero();
        assertThat(st.fragsReceived()).as("limitRate prefetched beyond what take let through").isGreaterThan(5);
    }

    @Test
    void overflowDropsAreReleased() {
        ConnectionStats st = run(f -> f.onBackpressureDrop()
                .concatMap(x -> Mono.delay(Duration.ofMillis(1)).thenReturn(x), 1)
                .doOnNext(DevmemFrag::release), true, 200);
        assertThat(st.fragsReceived()).isEqualTo(200);
        assertThat(st.fragsReclaimed()).isZero();
    }

    @Test
    void publishOnQueueIsReleasedOnCancel() {
        ConnectionStats st = run(f -> f.publishOn(Schedulers.single(), 32)
                .take(2).doOnNext(DevmemFrag::release), true, 100);
        assertThat(st.fragsReclaimed()).isZero();
    }
}
