package dev.devmem.samples.ingest;

import dev.devmem.api.DmabufSource;
import dev.devmem.api.Errno;
import dev.devmem.api.NetlinkException;
import dev.devmem.api.spi.DevmemBackend;
import dev.devmem.ffm.emulated.EmulatedBackend;
import dev.devmem.ffm.emulated.EmulatedNic;
import dev.devmem.ffm.testing.NetcatPattern;
import dev.devmem.spring.boot.DevmemListenerLifecycle;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import org.junit.jupiter.api.Test;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import reactor.core.scheduler.Scheduler;

import java.util.Collection;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Closing the application, as SIGTERM does, in the middle of a stream whose frags are queued
 * between the I/O thread and a busy worker: every frag must be processed or released (none
 * reclaimed by the kernel), every token returned, the binding closed, the peer told.
 *
 * <p>The application runs as {@code main} runs it ({@link SpringApplicationBuilder}), because this
 * test closes it: a context cached by Spring's test framework is not the test's to close.
 */
class IngestShutdownTest {
    private static final int PREFETCH = 64;

    @Test
    void closingMidStreamDrainsQueuedFragsReturnsEveryTokenAndUnbinds() throws Exception {
        int port = PatternSender.freePort();
        ConfigurableApplicationContext context = new SpringApplicationBuilder(IngestApplication.class).run(
                "--devmem.listener.port=" + port,
                "--server.port=0",
                "--devmem.ingest.processing.threads=1",
                "--devmem.ingest.processing.prefetch=" + PREFETCH,
                // Generous, so that nothing here depends on timing: a frag that was not released
                // would be reclaimed only after this, and the test would see it as not returned.
                "--devmem.receiver.close-grace-period=5m",
                "--devmem.listener.shutdown-timeout=5m");
        CountDownLatch workerFree = new CountDownLatch(1);
        ExecutorService threads = Executors.newFixedThreadPool(2);
        CompletableFuture<Void> closed = null;
        try (PatternSender sender = PatternSender.connect(port, NetcatPattern.kernelDoc())) {
            IngestService service = context.getBean(IngestService.class);
            DevmemListenerLifecycle listener = context.getBean(DevmemListenerLifecycle.class);
            MeterRegistry meters = context.getBean(MeterRegistry.class);
            EmulatedNic nic = ((EmulatedBackend) context.getBean(DevmemBackend.class)).nic();

            // Keep the only worker busy, so that frags pile up in publishOn's queue with a drain task
            // scheduled and not running: a slow consumer, at the moment the service is told to stop.
            context.getBean("ingestScheduler", Scheduler.class).schedule(() -> awaitQuietly(workerFree));
            // Own threads, not the common pool: on a 2-core machine it has a single worker.
            CompletableFuture<Long> sending = CompletableFuture.supplyAsync(sender::sendUntilClosed, threads);
            await("publishOn's queue full: " + PREFETCH + " frags held").atMost(PatternSender.TIMEOUT)
                    .until(() -> service.active().stream()
                            .anyMatch(c -> c.library().fragsOutstanding() == PREFETCH));
            assertThat(service.active()).singleElement().satisfies(c -> assertThat(c.bytes()).isZero());
            assertThat(nic.liveBindings()).hasSize(1);

            closed = CompletableFuture.runAsync(context::close, threads);
            await("connections told to stop").atMost(PatternSender.TIMEOUT)
                    .until(() -> listener.state() == DevmemListenerLifecycle.State.STOPPING);
            workerFree.countDown(); // the worker drains what was received, releasing each frag
            closed.get(PatternSender.TIMEOUT.toSeconds(), TimeUnit.SECONDS);

            assertThat(listener.isRunning()).isFalse();
            assertThat(listener.state()).isEqualTo(DevmemListenerLifecycle.State.STOPPED);
            ConnectionResult r = service.recent().getFirst();
            assertThat(r.outcome()).isEqualTo(ConnectionResult.Outcome.CANCELLED);
            assertThat(r.frags()).as("the queued frags were processed, not dropped").isEqualTo(PREFETCH);

            double received = sum(meters.find("devmem.received.frags").counters());
            assertThat(received).isEqualTo(PREFETCH);
            assertThat(meters.get("devmem.returned.frags").counter().count()).as("returned").isEqualTo(received);
            assertThat(meters.get("devmem.reclaimed.frags").counter().count()).as("reclaimed").isZero();
            assertThat(meters.get("devmem.tokens.outstanding").gauge().value()).isZero();
            assertThat(meters.get("devmem.connections.active").gauge().value()).isZero();

            assertThat(nic.liveBindings()).as("live bindings after close").isEmpty();
            assertThat(nic.stats().tokensOutstanding()).as("tokens outstanding on the NIC").isZero();
            assertThat(nic.stats().buffersHeld()).isZero();
            assertThatThrownBy(() -> nic.bindRx(List.of(3), DmabufSource.emulated(1 << 20)))
                    .as("the backend bean was closed with the context: the NIC is gone")
                    .isInstanceOfSatisfying(NetlinkException.class,
                            e -> assertThat(e.errno()).isEqualTo(Errno.ENODEV));
            assertThat(sending.get(PatternSender.TIMEOUT.toSeconds(), TimeUnit.SECONDS))
                    .as("the sender saw the connection close").isPositive();
        } finally {
            workerFree.countDown();
            if (closed == null) {
                context.close();
            }
            threads.shutdown();
        }
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static double sum(Collection<Counter> counters) {
        return counters.stream().mapToDouble(Counter::count).sum();
    }
}
