package dev.devmem.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code devmem demo} in its CI mode. */
class DemoTest {

    @Test
    void shortDemoOnTheEmulatedNicValidatesEveryByteAndGivesEveryTokenBack() {
        Cli.Run r = Cli.run("demo", "--short", "--json");
        assertThat(r.exit()).as(r.toString()).isZero();
        JsonNode j = r.json();
        long requested = DemoCommand.SHORT_BYTES;
        assertThat(j.get("command").asText()).isEqualTo("demo");
        assertThat(j.get("result").asText()).isEqualTo("ok");
        assertThat(j.get("backend").asText()).isEqualTo("emulated");
        assertThat(j.get("bytes").asLong()).isEqualTo(requested);
        assertThat(j.get("limit").asLong()).isEqualTo(requested);
        assertThat(j.get("bytesReceived").asLong()).isEqualTo(requested);
        JsonNode frags = j.get("frags");
        assertThat(frags.get("dmabuf").asLong()).isGreaterThanOrEqualTo(requested / 4096);
        assertThat(frags.get("linear").asLong()).as("header-split failures").isPositive();
        assertThat(frags.get("total").asLong())
                .isEqualTo(frags.get("dmabuf").asLong() + frags.get("linear").asLong() + frags.get("host").asLong());
        JsonNode fragBytes = j.get("fragBytes");
        // HOST frags are legitimate here: a packet of at most the header buffer's size whose split
        // failed fits in the linear part alone, and that skb is readable, so the kernel copies it
        // without any cmsg (seen as a 57-byte tail: dmabuf + linear fell 57 bytes short of the total).
        assertThat(fragBytes.get("dmabuf").asLong() + fragBytes.get("linear").asLong()
                + fragBytes.get("host").asLong()).as("frag bytes by kind %s", fragBytes).isEqualTo(requested);
        assertThat(j.get("tokens").get("outstanding").asLong()).isZero();
        assertThat(j.get("tokens").get("outstandingGauge").asLong()).isZero();
        assertThat(j.get("tokens").get("reclaimed").asLong()).isZero();
        assertThat(j.get("tokens").get("returned").asLong()).isEqualTo(frags.get("total").asLong());
        JsonNode dn = j.get("dontneed");
        assertThat(dn.get("tokensFreed").asLong()).isEqualTo(frags.get("dmabuf").asLong());
        // the kernel's minimum is one call per 1024 tokens; batching keeps within twice that
        assertThat(dn.get("calls").asLong()).isBetween(1L, 2 * (frags.get("dmabuf").asLong() / 1024 + 1));
        assertThat(dn.get("callsPerGiB").asDouble()).isPositive();
        JsonNode v = j.get("validation");
        assertThat(v.get("everyByte").asBoolean()).isTrue();
        assertThat(v.get("bytesValidated").asLong()).isEqualTo(requested);
        assertThat(v.get("terminator").asInt()).isZero();
        assertThat(j.get("doctor").get("kernel").asText()).isNotBlank();
        assertThat(j.get("doctor").get("schema").asText()).isEqualTo("devmem-doctor/1");
        assertThat(j.get("doctor").get("interfaces").isArray()).isTrue();
        assertThat(j.get("seconds").asDouble()).isPositive();
        assertThat(j.get("gbitPerSecond").asDouble()).isPositive();
        JsonNode sender = j.get("sender");
        assertThat(sender.get("mode").asText()).isEqualTo("plain");
        assertThat(sender.get("bytes").asLong()).isEqualTo(requested);
        assertThat(sender.get("local").asText()).isEqualTo(j.get("peer").asText());
        assertThat(sender.get("tx").isNull()).isTrue();
    }

    @Test
    void theTxDemoSendsAsDevmemTxThroughTheEmulatedNicAndValidatesEveryByte() {
        long bytes = 96L << 20;
        Cli.Run r = Cli.run("demo", "--tx", "--bytes", "96M", "--dmabuf-size", "8M", "--json");
        assertThat(r.exit()).as(r.toString()).isZero();
        JsonNode j = r.json();
        assertThat(j.get("bytes").asLong()).isEqualTo(bytes);
        assertThat(j.get("frags").get("dmabuf").asLong()).isPositive();
        assertThat(j.get("validation").get("everyByte").asBoolean()).isTrue();
        assertThat(j.get("tokens").get("outstanding").asLong()).isZero();
        JsonNode s = j.get("sender");
        assertThat(s.get("local").asText()).isEqualTo(j.get("peer").asText());
        assertThat(s.get("mode").asText()).isEqualTo("devmem");
        assertThat(s.get("devmemTx").asBoolean()).isTrue();
        assertThat(s.get("bytes").asLong()).isEqualTo(bytes);
        JsonNode tx = s.get("tx");
        assertThat(tx.get("dmabufBytes").asLong()).isEqualTo(8L << 20);
        assertThat(tx.get("slices").asLong()).isEqualTo(96);
        assertThat(tx.get("completions").asLong()).isEqualTo(tx.get("sends").asLong());
        assertThat(tx.get("completedBytes").asLong()).isEqualTo(bytes);
        assertThat(tx.get("copiedCompletions").asLong()).isZero();
        assertThat(tx.get("inFlight").get("atEndBytes").asLong()).isZero();
        assertThat(tx.get("bindingId").asLong()).as("its own TX binding, not the rx binding's id")
                .isPositive().isNotEqualTo(j.get("binding").get("id").asLong());
        assertThat(r.err()).contains("sent as devmem TX through the emulated NIC");
    }

    @Test
    void theTxDemoNeedsTheEmulatedNic() {
        Cli.Run r = Cli.run("demo", "--tx", "--backend", "linux", "--bytes", "1M");
        assertThat(r.exit()).as(r.toString()).isEqualTo(ExitCodes.USAGE);
        assertThat(r.err()).contains("--tx");
    }

    @Test
    void humanSummaryShowsTheNumbersAndTheDoctorReport() {
        Cli.Run r = Cli.run("demo", "--bytes", "16M");
        assertThat(r.exit()).as(r.toString()).isZero();
        assertThat(r.out()).contains("demo: 16.0 MiB (16777216 bytes) from 127.0.0.1:")
                .contains("  tokens      outstanding 0")
                .contains("reclaimed 0")
                .contains("per GiB")
                .contains("  validation  every byte right: 16777216 bytes, pattern 1..6 then 0x00")
                .contains("send: 16.0 MiB (16777216 bytes) to 127.0.0.1:")
                .contains("doctor: kernel ")
                .contains("devmem RX on this host: ");
        assertThat(r.err()).contains("devmem demo: 16.0 MiB of the kernel doc's netcat pattern")
                .contains("listening on 127.0.0.1:");
        assertThat(r.err()).as("no progress line off a terminal").doesNotContain("\r");
    }

    @Test
    void theDemoRunsOnTheLinuxBackendOverPlainLoopbackToo() {
        Cli.Run r = Cli.run("demo", "--backend", "linux", "--bytes", "32M", "--json");
        assertThat(r.exit()).as(r.toString()).isZero();
        JsonNode j = r.json();
        assertThat(j.get("backend").asText()).isEqualTo("linux");
        assertThat(j.get("frags").get("host").asLong()).isPositive();
        assertThat(j.get("validation").get("everyByte").asBoolean()).isTrue();
        assertThat(j.get("tokens").get("outstanding").asLong()).isZero();
    }
}
