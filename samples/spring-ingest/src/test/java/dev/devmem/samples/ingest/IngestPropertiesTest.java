package dev.devmem.samples.ingest;

import dev.devmem.api.DmabufSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Configuration;
import org.springframework.util.unit.DataSize;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code devmem.ingest.*}: the documented defaults, and wrong values refused at startup with the property named. */
class IngestPropertiesTest {
    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withUserConfiguration(PropertiesOnly.class);

    @Configuration(proxyBeanMethods = false)
    @EnableConfigurationProperties(IngestProperties.class)
    static class PropertiesOnly {
    }

    @Test
    void defaultsAreTheEmulatedNicWithABindingOnQueue3() {
        runner.run(context -> {
            assertThat(context).hasNotFailed();
            IngestProperties p = context.getBean(IngestProperties.class);
            assertThat(p.backend()).isEqualTo(IngestProperties.Backend.EMULATED);
            assertThat(p.listenAddress()).isEqualTo("127.0.0.1");
            assertThat(p.port()).isEqualTo(5201);
            assertThat(p.binds()).isTrue();
            assertThat(p.interfaceName()).isEqualTo("emu0");
            assertThat(p.rxQueues()).containsExactly(3);
            assertThat(p.nicSetup()).isFalse();
            assertThat(p.dmabuf().toDmabufSource()).isEqualTo(DmabufSource.emulated(64L << 20));
            assertThat(p.tokenBudget()).isNull();
            assertThat(p.fragSize()).isEqualTo(4096);
            assertThat(p.emulated().rxQueues()).isEqualTo(4);
            assertThat(p.emulated().headerSplitFailureRate()).isZero();
            assertThat(p.processing().threads()).isEqualTo(2);
            assertThat(p.processing().prefetch()).isEqualTo(256);
            assertThat(p.processing().maxConnections()).isEqualTo(16);
            assertThat(p.retainedResults()).isEqualTo(100);
            assertThat(p.closeGracePeriod()).isEqualTo(Duration.ofSeconds(2));
            assertThat(p.shutdownTimeout()).isEqualTo(Duration.ofSeconds(10));
        });
    }

    @Test
    void aRealNicConfiguration() {
        runner.withPropertyValues("devmem.ingest.backend=linux", "devmem.ingest.listen-address=10.0.0.2",
                        "devmem.ingest.interface-name=eth1", "devmem.ingest.rx-queues=14,15",
                        "devmem.ingest.nic-setup=true", "devmem.ingest.dmabuf.source=dma-heap",
                        "devmem.ingest.dmabuf.size=256MB", "devmem.ingest.token-budget=65536")
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    IngestProperties p = context.getBean(IngestProperties.class);
                    assertThat(p.backend()).isEqualTo(IngestProperties.Backend.LINUX);
                    assertThat(p.rxQueues()).containsExactly(14, 15);
                    assertThat(p.dmabuf().size()).isEqualTo(DataSize.ofMegabytes(256));
                    assertThat(p.dmabuf().toDmabufSource()).isEqualTo(DmabufSource.dmaHeap("system", 256L << 20));
                    assertThat(p.tokenBudget()).isEqualTo(65536);
                });
    }

    @Test
    void noInterfaceMeansNoBinding() {
        runner.withPropertyValues("devmem.ingest.interface-name=").run(context -> {
            assertThat(context).hasNotFailed();
            assertThat(context.getBean(IngestProperties.class).binds()).isFalse();
        });
    }

    @ParameterizedTest(name = "{0}={1}")
    @CsvSource(delimiter = '|', textBlock = """
            port                                |0            |port
            port                                |65536        |port
            rx-queues                           |-1           |rxQueues
            rx-queues                           |4            |rx-queues must be below emulated.rx-queues
            token-budget                        |0            |tokenBudget
            token-budget                        |16385        |token-budget exceeds what the dmabuf holds
            dmabuf.size                         |0            |dmabuf size must be positive
            dmabuf.source                       |cuda         |the emulated backend maps its dmabuf
            backend                             |linux        |the linux backend cannot bind an emulated dmabuf
            backend                             |bsd          |devmem.ingest.backend
            nic-setup                           |true         |nic-setup is for the linux backend
            emulated.frag-size                  |3000         |frag-size must be a power of two
            emulated.header-split-failure-rate  |1.5          |headerSplitFailureRate
            processing.threads                  |0            |threads
            processing.prefetch                 |0            |prefetch
            retained-results                    |0            |retainedResults
            listen-address                      |' '          |listenAddress
            """)
    void refusesAtStartup(String property, String value, String message) {
        runner.withPropertyValues("devmem.ingest." + property + "=" + value).run(context -> {
            assertThat(context).hasFailed();
            assertThat(allMessages(context.getStartupFailure())).contains(message);
        });
    }

    @Test
    void theLargestTokenBudgetTheDmabufHolds() {
        runner.withPropertyValues("devmem.ingest.token-budget=16384").run(context -> assertThat(context).hasNotFailed());
    }

    private static String allMessages(Throwable t) {
        StringBuilder b = new StringBuilder();
        for (Throwable c = t; c != null; c = c.getCause()) {
            b.append(c.getMessage()).append('\n');
        }
        return b.toString();
    }
}
