package dev.devmem.samples.ingest;

import dev.devmem.api.spi.DevmemBackend;
import dev.devmem.ffm.emulated.EmulatedBackend;
import dev.devmem.ffm.emulated.EmulatedNic;
import dev.devmem.ffm.testing.NetcatPattern;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import javax.management.MBeanServer;
import javax.management.ObjectName;
import java.lang.management.ManagementFactory;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The whole application over the emulated devmem NIC and real loopback TCP: a plain Java socket
 * sends 64 MiB of the netcat pattern, the service checksums what arrived in "device memory", and
 * both sides must agree; Spring's registry, the actuator endpoint (over JMX) and the NIC itself
 * must tell the same story. Closing the application is {@link IngestShutdownTest}'s job: a context
 * that Spring's test framework caches is not the test's to close.
 */
@SpringBootTest(properties = {
        // @SpringBootTest turns JMX off by default; the endpoint is read over JMX here, as an operator would.
        "spring.jmx.enabled=true",
        // 1% of packets arrive with their first bytes in the linear area: LINEAR frags among the DMABUF ones.
        "devmem.ingest.emulated.header-split-failure-rate=0.01",
        "devmem.ingest.emulated.seed=42",
})
@DirtiesContext // JMX names are per JVM: no other context may keep this one's endpoint names
class IngestApplicationTest {
    private static final long TOTAL = 64L << 20;
    private static final int PORT = PatternSender.freePort();

    @DynamicPropertySource
    static void port(DynamicPropertyRegistry registry) {
        registry.add("devmem.ingest.port", () -> PORT);
    }

    @Autowired
    private IngestService service;
    @Autowired
    private MeterRegistry meters;
    @Autowired
    private DevmemBackend backend;

    @Test
    void checksumsAStreamAsTheSenderDidAndReportsItInMetersAndTheEndpoint() throws Exception {
        AtomicInteger senderPort = new AtomicInteger(-1);
        CompletableFuture<ConnectionResult> result = service.results()
                .filter(r -> r.remotePort() == senderPort.get())
                .next()
                .toFuture();
        String sentCrc;
        try (PatternSender sender = PatternSender.connect(PORT, NetcatPattern.kernelDoc())) {
            senderPort.set(sender.localPort());
            sender.send(TOTAL);
            sentCrc = sender.crc32c();
        } // close: the service sees the end of the stream

        ConnectionResult r = result.get(PatternSender.TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        assertThat(r.outcome()).as(r.toString()).isEqualTo(ConnectionResult.Outcome.COMPLETED);
        assertThat(r.bytes()).as("bytes received").isEqualTo(TOTAL);
        assertThat(r.crc32c()).as("CRC32C of what arrived in the dmabuf vs what was sent").isEqualTo(sentCrc);
        assertThat(r.dmabufFrags()).as("the devmem path: the flow was steered to the bound queue").isPositive();
        assertThat(r.linearFrags()).as("header-split failures arrive as LINEAR frags").isPositive();
        assertThat(r.hostFrags()).as("no plain data").isZero();
        assertThat(r.frags()).isEqualTo(r.dmabufFrags() + r.linearFrags());

        // Spring's registry has the library's meters.
        assertThat(sum(meters.find("devmem.received.bytes").counters())).isEqualTo((double) TOTAL);
        await("every frag handed back (tokens.outstanding 0)").atMost(PatternSender.TIMEOUT)
                .until(() -> meters.get("devmem.tokens.outstanding").gauge().value() == 0);
        assertThat(meters.get("devmem.returned.frags").counter().count())
                .isEqualTo(sum(meters.find("devmem.received.frags").counters()));
        assertThat(meters.get("devmem.reclaimed.frags").counter().count()).as("nothing leaked").isZero();
        assertThat(meters.get("devmem.bindings.active").gauge().value()).as("bound while listening").isEqualTo(1);

        // The actuator endpoint, through actuator's JMX exporter (the service has no web server).
        MBeanServer jmx = ManagementFactory.getPlatformMBeanServer();
        ObjectName endpoint = new ObjectName("org.springframework.boot:type=Endpoint,name=Devmem");
        @SuppressWarnings("unchecked")
        Map<String, Object> report = (Map<String, Object>) jmx.invoke(endpoint, "report", new Object[0], new String[0]);
        assertThat(report).containsEntry("state", "LISTENING").containsEntry("completed", 1L)
                .containsEntry("listen", "/127.0.0.1:" + PORT);
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> recent = (List<Map<String, Object>>) report.get("recent");
        assertThat(recent).singleElement().satisfies(c -> {
            assertThat(c).containsEntry("crc32c", sentCrc).containsEntry("outcome", "COMPLETED");
            assertThat(((Number) c.get("bytes")).longValue()).isEqualTo(TOTAL);
        });
        Object one = jmx.invoke(endpoint, "connection", new Object[] {r.id()}, new String[] {long.class.getName()});
        assertThat(one).asInstanceOf(org.assertj.core.api.InstanceOfAssertFactories.MAP)
                .containsEntry("crc32c", sentCrc);
        @SuppressWarnings("unchecked")
        Map<String, Object> health = (Map<String, Object>) jmx.invoke(
                new ObjectName("org.springframework.boot:type=Endpoint,name=Health"), "health", new Object[0],
                new String[0]);
        assertThat(health).containsEntry("status", "UP");

        // The NIC agrees: one binding (on the configured queue), every token back, no buffer held.
        EmulatedNic nic = ((EmulatedBackend) backend).nic();
        assertThat(nic.liveBindings()).as("bound while listening").hasSize(1);
        assertThat(nic.queueDmabuf(3)).as("rx queue 3 bound").isPositive();
        assertThat(nic.stats().tokensOutstanding()).as("tokens outstanding on the NIC").isZero();
        assertThat(nic.stats().headerSplitFailures()).as("the injected faults fired").isPositive();
    }

    private static double sum(java.util.Collection<Counter> counters) {
        return counters.stream().mapToDouble(Counter::count).sum();
    }
}
