package dev.devmem.samples.ingest;

import com.jayway.jsonpath.JsonPath;
import dev.devmem.api.spi.DevmemBackend;
import dev.devmem.ffm.emulated.EmulatedBackend;
import dev.devmem.ffm.emulated.EmulatedNic;
import dev.devmem.ffm.testing.NetcatPattern;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The whole application on a random HTTP port, over the emulated devmem NIC and real loopback TCP: a
 * plain Java socket sends 64 MiB of the netcat pattern in two halves, the service checksums what
 * arrived in "device memory", and both sides must agree. {@code /actuator/prometheus}, scraped with
 * the JDK's HTTP client before, between the halves (connection open) and after, must show the
 * {@code devmem_*} series moving by exactly what the connection and the NIC counted; {@code
 * /actuator/health} must show the starter's devmem component. Closing the application is
 * {@link IngestShutdownTest}'s job: a context Spring's test framework caches is not the test's to close.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        // 1% of packets arrive with their first bytes in the linear area: LINEAR frags among the DMABUF ones.
        "devmem.emulated.header-split-failure-rate=0.01",
        "devmem.emulated.seed=42",
})
class IngestApplicationTest {
    private static final long TOTAL = 64L << 20;
    private static final long HALF = TOTAL / 2;
    private static final int PORT = PatternSender.freePort();
    /** The meters' name tag: the receiver's name, by default its interface. */
    private static final String RECEIVER = "name=\"emu0\"";

    @DynamicPropertySource
    static void port(DynamicPropertyRegistry registry) {
        registry.add("devmem.listener.port", () -> PORT);
    }

    @LocalServerPort
    private int http;
    @Autowired
    private IngestService service;
    @Autowired
    private DevmemBackend backend;

    @Test
    void aFlowMovesTheDevmemSeriesByWhatTheConnectionAndTheNicCounted() throws Exception {
        EmulatedNic nic = ((EmulatedBackend) backend).nic();
        String health = Scrape.get(http, "/actuator/health");
        assertThat((String) JsonPath.read(health, "$.status")).isEqualTo("UP");
        assertThat((String) JsonPath.read(health, "$.components.devmem.status")).isEqualTo("UP");
        assertThat((String) JsonPath.read(health, "$.components.devmem.details.backend")).isEqualTo("emulated");
        assertThat((String) JsonPath.read(health, "$.components.devmem.details.listener")).isEqualTo("LISTENING");
        assertThat((String) JsonPath.read(health, "$.components.devmem.details.listen")).isEqualTo("127.0.0.1:" + PORT);

        Scrape before = Scrape.of(http);
        long tokensReleasedBefore = nic.stats().tokensReleased();

        AtomicInteger senderPort = new AtomicInteger(-1);
        CompletableFuture<ConnectionResult> result = service.results()
                .filter(r -> r.remotePort() == senderPort.get())
                .next()
                .toFuture();
        String sentCrc;
        try (PatternSender sender = PatternSender.connect(PORT, NetcatPattern.kernelDoc())) {
            senderPort.set(sender.localPort());
            sender.send(HALF);

            // During the flow: the connection is open, half the bytes are in.
            await("the first half in /actuator/prometheus").atMost(PatternSender.TIMEOUT)
                    .until(() -> delta(Scrape.of(http), before, "devmem_received_bytes_total") == HALF);
            Scrape during = Scrape.of(http);
            assertThat(during.sum("devmem_connections_active_connections", RECEIVER)).as("connection open").isEqualTo(1);
            assertThat(during.sum("devmem_bindings_active_bindings", RECEIVER)).as("bound").isEqualTo(1);
            assertThat(delta(during, before, "devmem_received_frags_total")).isPositive();

            sender.send(TOTAL - HALF);
            sentCrc = sender.crc32c();
        } // close: the service sees the end of the stream

        ConnectionResult r = result.get(PatternSender.TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        assertThat(r.outcome()).as(r.toString()).isEqualTo(ConnectionResult.Outcome.COMPLETED);
        assertThat(r.bytes()).as("bytes received").isEqualTo(TOTAL);
        assertThat(r.crc32c()).as("CRC32C of what arrived in the dmabuf vs what was sent").isEqualTo(sentCrc);
        assertThat(r.dmabufFrags()).as("the devmem path: the flow was steered to the bound queue").isPositive();
        assertThat(r.linearFrags()).as("header-split failures arrive as LINEAR frags").isPositive();
        assertThat(r.hostFrags()).as("no plain data").isZero();

        // After the flow: every frag back, the series moved by exactly what the connection counted.
        await("every frag handed back (tokens outstanding 0)").atMost(PatternSender.TIMEOUT)
                .until(() -> Scrape.of(http).sum("devmem_tokens_outstanding_frags", RECEIVER) == 0
                        && nic.stats().tokensOutstanding() == 0);
        Scrape after = Scrape.of(http);
        assertThat(delta(after, before, "devmem_received_bytes_total")).isEqualTo(TOTAL);
        assertThat(delta(after, before, "devmem_received_bytes_total", "kind=\"host\"")).isZero();
        assertThat(delta(after, before, "devmem_received_frags_total")).isEqualTo(r.frags());
        assertThat(delta(after, before, "devmem_received_frags_total", "kind=\"dmabuf\"")).isEqualTo(r.dmabufFrags());
        assertThat(delta(after, before, "devmem_received_frags_total", "kind=\"linear\"")).isEqualTo(r.linearFrags());
        assertThat(delta(after, before, "devmem_returned_frags_total")).as("returned = received").isEqualTo(r.frags());
        assertThat(delta(after, before, "devmem_reclaimed_frags_total")).as("nothing leaked").isZero();
        // SO_DEVMEM_DONTNEED: the tokens it freed are the DMABUF frags, as the NIC counted them too.
        long dontneedCalls = delta(after, before, "devmem_dontneed_calls_total");
        assertThat(dontneedCalls).as("batched: fewer calls than tokens").isPositive().isLessThan(r.dmabufFrags());
        assertThat(delta(after, before, "devmem_dontneed_tokens_count")).isEqualTo(dontneedCalls);
        assertThat(delta(after, before, "devmem_dontneed_tokens_sum")).isEqualTo(r.dmabufFrags());
        assertThat(nic.stats().tokensReleased() - tokensReleasedBefore).isEqualTo(r.dmabufFrags());
        assertThat(after.sum("devmem_connections_active_connections", RECEIVER)).isZero();
        assertThat(after.sum("devmem_bindings_active_bindings", RECEIVER)).as("still listening").isEqualTo(1);

        // The ingest endpoint over HTTP.
        String report = Scrape.get(http, "/actuator/ingest");
        assertThat((String) JsonPath.read(report, "$.state")).isEqualTo("LISTENING");
        List<Map<String, Object>> recent = JsonPath.read(report, "$.recent[?(@.id == " + r.id() + ")]");
        assertThat(recent).singleElement().satisfies(c -> {
            assertThat(c).containsEntry("crc32c", sentCrc).containsEntry("outcome", "COMPLETED");
            assertThat(((Number) c.get("bytes")).longValue()).isEqualTo(TOTAL);
        });
        assertThat((String) JsonPath.read(Scrape.get(http, "/actuator/ingest/" + r.id()), "$.crc32c")).isEqualTo(sentCrc);

        // The NIC agrees: one binding (on the configured queue), every token back, no buffer held.
        assertThat(nic.liveBindings()).as("bound while listening").hasSize(1);
        assertThat(nic.queueDmabuf(3)).as("rx queue 3 bound").isPositive();
        assertThat(nic.stats().headerSplitFailures()).as("the injected faults fired").isPositive();
    }

    /** How much the receiver's series moved between two scrapes, as a whole number. */
    private static long delta(Scrape after, Scrape before, String name, String... labels) {
        String[] all = new String[labels.length + 1];
        all[0] = RECEIVER;
        System.arraycopy(labels, 0, all, 1, labels.length);
        double d = after.sum(name, all) - before.sum(name, all);
        // Counts travel as doubles through DoubleAdder and the text format; a sum of several series can
        // come back a few ulps off a whole number (16522.000000000004 was seen), never a fraction.
        assertThat(d).as("%s moved by a whole number", name).isCloseTo(Math.rint(d), org.assertj.core.api.Assertions.within(1e-6));
        return Math.round(d);
    }
}
