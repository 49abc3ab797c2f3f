package dev.devmem.samples.ingest;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Configuration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code devmem.ingest.*}: the documented defaults, and wrong values refused at startup with the
 * property named. {@code devmem.*} is the starter's and tested with it ({@code DevmemAutoConfigurationTest}).
 */
class IngestPropertiesTest {
    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withUserConfiguration(PropertiesOnly.class);

    @Configuration(proxyBeanMethods = false)
    @EnableConfigurationProperties(IngestProperties.class)
    static class PropertiesOnly {
    }

    @Test
    void defaults() {
        runner.run(context -> {
            assertThat(context).hasNotFailed();
            IngestProperties p = context.getBean(IngestProperties.class);
            assertThat(p.processing().threads()).isEqualTo(2);
            assertThat(p.processing().prefetch()).isEqualTo(256);
            assertThat(p.retainedResults()).isEqualTo(100);
        });
    }

    @ParameterizedTest(name = "{0}={1}")
    @CsvSource(delimiter = '|', textBlock = """
            processing.threads                  |0            |threads
            processing.threads                  |257          |threads
            processing.prefetch                 |0            |prefetch
            retained-results                    |0            |retainedResults
            retained-results                    |many         |devmem.ingest.retained-results
            """)
    void refusesAtStartup(String property, String value, String message) {
        runner.withPropertyValues("devmem.ingest." + property + "=" + value).run(context -> {
            assertThat(context).hasFailed();
            assertThat(allMessages(context.getStartupFailure())).contains(message).contains("devmem.ingest");
        });
    }

    private static String allMessages(Throwable t) {
        StringBuilder b = new StringBuilder();
        for (Throwable c = t; c != null; c = c.getCause()) {
            b.append(c.getMessage()).append('\n');
        }
        return b.toString();
    }
}
