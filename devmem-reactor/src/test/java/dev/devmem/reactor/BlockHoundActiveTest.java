package dev.devmem.reactor;

import dev.devmem.api.DevmemFrag;
import org.junit.jupiter.api.Test;
import reactor.blockhound.BlockingOperationError;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import reactor.test.StepVerifier;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * BlockHound is really on in this module's tests: a deliberate {@code Thread.sleep} on a
 * {@code devmem-io} loop thread (inside {@code onNext}) and on a Reactor {@code parallel} thread is
 * reported as a {@link BlockingOperationError}, while the loop's own park point (the fake
 * backend's {@code await}) is allowed, or no receive here could run at all.
 */
class BlockHoundActiveTest {

    @Test
    void aSleepOnADevmemLoopThreadIsABlockingOperationError() {
        FakeHarness h = new FakeHarness();
        AtomicReference<Throwable> caught = new AtomicReference<>();
        AtomicReference<String> thread = new AtomicReference<>();
        StepVerifier.create(h.receiver().receiveOne(h.address).take(1).doOnNext((DevmemFrag f) -> {
                    thread.set(Thread.currentThread().getName());
                    try {
                        Thread.sleep(1);
                    } catch (Throwable t) {
                        caught.set(t);
                    } finally {
                        f.release();
                    }
                }))
                .then(() -> h.peer().send(4096))
                .expectNextCount(1)
                .expectComplete()
                .verify(Await.TIMEOUT);
        assertThat(thread.get()).startsWith(DevmemBlockHoundIntegration.LOOP_THREAD_PREFIX);
        assertThat(caught.get()).isInstanceOf(BlockingOperationError.class)
                .hasMessageContaining("java.lang.Thread.sleep");
        h.awaitAllClosed();
    }

    @Test
    void aSleepOnAReactorParallelThreadIsABlockingOperationError() {
        StepVerifier.create(Mono.fromCallable(() -> {
                    Thread.sleep(1);
                    return "slept";
                }).subscribeOn(Schedulers.parallel()))
                .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(BlockingOperationError.class)
                        .hasMessageContaining("java.lang.Thread.sleep"))
                .verify(Duration.ofSeconds(20));
    }
}
