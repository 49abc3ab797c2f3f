package dev.devmem.samples.feeder;

import dev.devmem.api.DmabufSource;
import dev.devmem.ffm.DevmemBackends;
import dev.devmem.ffm.emulated.EmulatedBackend;
import dev.devmem.ffm.emulated.EmulatedNicConfig;
import dev.devmem.reactor.DevmemConnection;
import dev.devmem.reactor.DevmemReceiver;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;

/**
 * One feed over the emulated devmem NIC and real loopback TCP, for tests: an emulated NIC with one
 * rx queue bound to an emulated dmabuf, a receiver accepting one connection into a {@link Feeder},
 * and a {@link RecordSender} on its own thread.
 */
final class EmulatedFeed implements AutoCloseable {
    static final Duration TIMEOUT = Duration.ofSeconds(90);

    final EmulatedBackend backend;
    final DevmemReceiver receiver;
    final SimpleMeterRegistry meters = new SimpleMeterRegistry();
    final InetSocketAddress address;
    final AtomicReference<DevmemConnection> connection = new AtomicReference<>();
    final int tokenBudget;

    EmulatedFeed(EmulatedNicConfig nic, long dmabufBytes, int tokenBudget, int receiveBatch) throws Exception {
        this.backend = DevmemBackends.emulated(nic.withRxQueues(1));
        this.tokenBudget = tokenBudget;
        this.receiver = DevmemReceiver.create(backend).interfaceName(nic.interfaceName()).rxQueues(0)
                .dmabuf(DmabufSource.emulated(dmabufBytes)).fragSize(nic.fragSize()).tokenBudget(tokenBudget)
                .batchSize(receiveBatch).meterRegistry(meters);
        this.address = freeLoopbackAddress();
    }

    /** Starts receiving one connection into {@code feeder}; the future completes with its report. */
    CompletableFuture<FeedReport> start(Feeder feeder) {
        return receiver.listen(address).take(1)
                .flatMap(c -> {
                    connection.set(c);
                    return feeder.feed(c);
                })
                .single()
                .toFuture();
    }

    /** Sends {@code records} on a new thread (the sender retries its connect until the listener is up). */
    CompletableFuture<Long> send(RecordSender sender, long records) {
        CompletableFuture<Long> done = new CompletableFuture<>();
        Thread.ofPlatform().name("record-sender").start(() -> {
            try {
                done.complete(sender.send(address, records));
            } catch (Throwable t) {
                done.completeExceptionally(t);
            }
        });
        return done;
    }

    static <T> T await(CompletableFuture<T> f) throws Exception {
        return f.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    }

    static void until(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for: " + what);
            }
            Thread.sleep(5);
        }
    }

    /** Waits until the connection is closed and the binding gone, as the ledgers are final only then. */
    void awaitClosedAndUnbound() throws InterruptedException {
        until("connection closed", () -> connection.get() != null && connection.get().stats().closed());
        until("no live binding", () -> backend.nic().liveBindings().isEmpty());
    }

    static InetSocketAddress freeLoopbackAddress() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return new InetSocketAddress(InetAddress.getLoopbackAddress(), s.getLocalPort());
        }
    }

    @Override
    public void close() {
        backend.close();
    }
}
