package dev.devmem.spring.boot;

import dev.devmem.api.DevmemFrag;
import dev.devmem.ffm.emulated.EmulatedBackend;
import dev.devmem.ffm.emulated.EmulatedNic;
import dev.devmem.reactor.ConnectionStats;
import dev.devmem.reactor.DevmemConnection;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.health.contributor.Status;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Closing the context while a connection holds frags, over the emulated NIC and real loopback TCP:
 * the listener stops accepting, waits for the handler to release what it holds, and only then lets
 * the context go on; no token is lost, none is left to the kernel to reclaim, nothing stays bound.
 */
class DevmemListenerLifecycleTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(60);
    private static final int BYTES = 256 << 10;

    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(DevmemAutoConfiguration.class))
            .withUserConfiguration(HoldingHandler.class);

    /** Holds every frag it receives until the test releases them. */
    @Configuration(proxyBeanMethods = false)
    static class HoldingHandler {
        final List<DevmemFrag> held = new CopyOnWriteArrayList<>();
        final AtomicReference<DevmemConnection> connection = new AtomicReference<>();

        @Bean
        DevmemConnectionHandler handler() {
            return c -> {
                connection.set(c);
                // Not doOnNext(...).then(): then() drops each frag, and receive(handler)'s discard hook
                // would release it at once. Mapped away, the frag stays the handler's to release.
                return c.receive(frags -> frags.map(held::add).then());
            };
        }

        long heldBytes() {
            return held.stream().mapToLong(DevmemFrag::length).sum();
        }
    }

    @Test
    void closingTheContextWaitsForTheHeldFragsAndLosesNoToken() throws Exception {
        int port = DevmemAutoConfigurationTest.freePort();
        runner.withPropertyValues("devmem.listener.port=" + port,
                        // Generous, so that nothing depends on timing: a frag not released within these
                        // would be reclaimed by the kernel, and the ledger below would show it.
                        "devmem.receiver.close-grace-period=5m", "devmem.listener.shutdown-timeout=5m")
                .run(context -> {
                    HoldingHandler handler = context.getBean(HoldingHandler.class);
                    DevmemListenerLifecycle listener = context.getBean(DevmemListenerLifecycle.class);
                    EmulatedNic nic = context.getBean(EmulatedBackend.class).nic();
                    try (Socket peer = connect(port)) {
                        OutputStream out = peer.getOutputStream();
                        out.write(new byte[BYTES]);
                        out.flush();
                        await("every byte held by the handler").atMost(TIMEOUT)
                                .until(() -> handler.heldBytes() == BYTES);
                        assertThat(nic.liveBindings()).hasSize(1);
                        assertThat(nic.stats().tokensOutstanding()).isEqualTo(handler.held.size());

                        CompletableFuture<Void> closing = CompletableFuture.runAsync(context::close);
                        await("the listener told the connection to stop").atMost(TIMEOUT)
                                .until(() -> listener.state() == DevmemListenerLifecycle.State.STOPPING);
                        assertThat(context.getBean(DevmemHealthIndicator.class).health().getStatus())
                                .isEqualTo(Status.OUT_OF_SERVICE);
                        assertThat(closing).as("the close waits for the held frags").isNotDone();
                        assertThat(listener.active()).singleElement()
                                .satisfies(a -> assertThat(a.stats().fragsOutstanding()).isEqualTo(handler.held.size()));

                        handler.held.forEach(DevmemFrag::release);
                        closing.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
                    }
                    assertThat(listener.state()).isEqualTo(DevmemListenerLifecycle.State.STOPPED);
                    assertThat(listener.isRunning()).isFalse();
                    ConnectionStats stats = handler.connection.get().stats();
                    assertThat(stats.bytesReceived()).isEqualTo(BYTES);
                    assertThat(stats.fragsReceived()).isEqualTo(handler.held.size());
                    assertThat(stats.fragsReturned()).as("every frag handed back").isEqualTo(stats.fragsReceived());
                    assertThat(stats.fragsReclaimed()).as("none left to the kernel").isZero();
                    assertThat(stats.fragsOutstanding()).isZero();
                    assertThat(stats.closed()).isTrue();
                    assertThat(nic.stats().tokensOutstanding()).as("tokens outstanding on the NIC").isZero();
                    assertThat(nic.stats().buffersHeld()).isZero();
                    assertThat(nic.liveBindings()).as("unbound").isEmpty();
                });
    }

    @Test
    void aConnectionStillHoldingFragsAtTheShutdownTimeoutIsReclaimedNotLost() throws Exception {
        int port = DevmemAutoConfigurationTest.freePort();
        runner.withPropertyValues("devmem.listener.port=" + port, "devmem.receiver.close-grace-period=0s",
                        "devmem.listener.shutdown-timeout=0s")
                .run(context -> {
                    HoldingHandler handler = context.getBean(HoldingHandler.class);
                    EmulatedNic nic = context.getBean(EmulatedBackend.class).nic();
                    try (Socket peer = connect(port)) {
                        peer.getOutputStream().write(new byte[BYTES]);
                        await("every byte held by the handler").atMost(TIMEOUT)
                                .until(() -> handler.heldBytes() == BYTES);
                        context.close(); // the handler never releases
                    }
                    DevmemConnection c = handler.connection.get();
                    c.onClose().block(TIMEOUT);
                    ConnectionStats stats = c.stats();
                    assertThat(stats.fragsReceived()).isEqualTo(handler.held.size());
                    assertThat(stats.fragsReturned() + stats.fragsReclaimed())
                            .as("each token either released or reclaimed by closing the socket")
                            .isEqualTo(stats.fragsReceived());
                    assertThat(stats.fragsReclaimed()).isPositive();
                    assertThat(nic.stats().tokensOutstanding()).isZero();
                    assertThat(nic.liveBindings()).isEmpty();
                });
    }

    /** The listener binds on a setup thread after the context started: retry until it listens. */
    static Socket connect(int port) throws InterruptedException {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (true) {
            try {
                return new Socket(InetAddress.getLoopbackAddress(), port);
            } catch (java.io.IOException refused) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("nothing listens on port " + port + " after " + TIMEOUT, refused);
                }
                Thread.sleep(20);
            }
        }
    }
}
