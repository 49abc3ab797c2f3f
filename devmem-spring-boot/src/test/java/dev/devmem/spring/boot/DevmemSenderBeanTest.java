package dev.devmem.spring.boot;

import dev.devmem.api.FragKind;
import dev.devmem.reactor.DevmemSender;
import dev.devmem.reactor.TxCompletion;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import reactor.core.publisher.Flux;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The two beans talk to each other on the emulated NIC over real loopback TCP: the DevmemSender bean
 * sends from TX device memory to the listener of the DevmemReceiver bean, which checks every byte it
 * finds in RX device memory. Both record into Spring's registry under their name tags.
 */
class DevmemSenderBeanTest {
    private static final int SLICE = 64 << 10;
    private static final int SLICES = 128; // 8 MiB

    /** Checks each frag against the pattern at its stream position, then releases it. */
    @Configuration(proxyBeanMethods = false)
    static class CheckingHandler {
        final AtomicLong dmabufBytes = new AtomicLong();
        final AtomicLong wrong = new AtomicLong();

        @Bean
        DevmemConnectionHandler handler() {
            return connection -> connection.receive(frags -> frags.doOnNext(f -> {
                try {
                    MemorySegment s = f.segment();
                    for (long i = 0; i < f.length(); i++) {
                        if (s.get(ValueLayout.JAVA_BYTE, i) != pattern(f.streamPosition() + i)) {
                            wrong.incrementAndGet();
                        }
                    }
                    if (f.kind() == FragKind.DMABUF) {
                        dmabufBytes.addAndGet(f.length());
                    }
                } finally {
                    f.release();
                }
            }).then());
        }
    }

    static byte pattern(long position) {
        return (byte) (position % 251);
    }

    @Test
    void theSenderBeanSendsFromDeviceMemoryToTheReceiverBean() {
        int port = DevmemAutoConfigurationTest.freePort();
        new ApplicationContextRunner()
                .withConfiguration(AutoConfigurations.of(DevmemAutoConfiguration.class))
                .withUserConfiguration(CheckingHandler.class)
                .withBean(MeterRegistry.class, SimpleMeterRegistry::new)
                .withPropertyValues("devmem.listener.port=" + port, "devmem.receiver.name=rx",
                        "devmem.sender.name=tx", "devmem.sender.dmabuf.size=1MB")
                .run(context -> {
                    CheckingHandler handler = context.getBean(CheckingHandler.class);
                    MeterRegistry registry = context.getBean(MeterRegistry.class);
                    DevmemSender sender = context.getBean(DevmemSender.class);
                    InetSocketAddress to = new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
                    long total = (long) SLICE * SLICES;

                    List<TxCompletion> done = await().atMost(Duration.ofSeconds(60)).ignoreExceptions()
                            .until(() -> sendPattern(sender, to), d -> true);
                    assertThat(done).hasSize(SLICES).allSatisfy(c -> assertThat(c.copied()).isFalse());
                    await("every byte in RX device memory").atMost(Duration.ofSeconds(60))
                            .until(() -> handler.dmabufBytes.get() == total);
                    assertThat(handler.wrong.get()).as("bytes that differ from what was sent").isZero();
                    assertThat(sum(registry, "devmem.tx.bytes", "tx")).isEqualTo(total);
                    assertThat(sum(registry, "devmem.tx.completed.bytes", "tx")).isEqualTo(total);
                    assertThat(sum(registry, "devmem.received.bytes", "rx")).isEqualTo(total);
                    assertThat(registry.find("devmem.tx.bytes").tag("name", "rx").counters()).isEmpty();
                    assertThat(registry.find("devmem.received.bytes").tag("name", "tx").counters()).isEmpty();
                });
    }

    /** Sends the pattern; fails (and is retried) while the listener is not up yet. */
    private static List<TxCompletion> sendPattern(DevmemSender sender, InetSocketAddress to) {
        return sender.send(to, buffer -> Flux.range(0, SLICES)
                        .concatMap(i -> buffer.lease(SLICE).map(slice -> {
                            MemorySegment s = slice.segment();
                            long base = (long) i * SLICE;
                            for (long j = 0; j < SLICE; j++) {
                                s.set(ValueLayout.JAVA_BYTE, j, pattern(base + j));
                            }
                            return slice;
                        }), 0))
                .collectList()
                .block(Duration.ofSeconds(60));
    }

    private static double sum(MeterRegistry registry, String meter, String name) {
        return registry.find(meter).tag("name", name).counters().stream().mapToDouble(Counter::count).sum();
    }
}
