package dev.devmem.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code devmem send} into {@code devmem recv}, both commands at once in this JVM over real loopback
 * TCP. (They run with writers of their own, set up as {@link Main#run} does, because both print at once.)
 */
class SendRecvTest {

    @ParameterizedTest
    @CsvSource({"linux,0", "linux,10", "emulated,0", "emulated,10"})
    void sendIntoRecvEndToEnd(String backend, String terminator) throws Exception {
        Cli.Running recv = Cli.startIsolated("recv", "--listen", "127.0.0.1:0", "--backend", backend, "--validate", "7",
                "--json");
        int port = recv.awaitListeningPort();
        Cli.Run send = Cli.startIsolated("send", "--connect", "127.0.0.1:" + port, "--bytes", "48M",
                "--terminator", terminator, "--json").await();
        Cli.Run r = recv.await();
        assertThat(send.exit()).as(send.toString()).isZero();
        assertThat(r.exit()).as(r.toString()).isZero();
        JsonNode s = send.json();
        assertThat(s.get("command").asText()).isEqualTo("send");
        assertThat(s.get("bytes").asLong()).isEqualTo(48L << 20);
        assertThat(s.get("pattern").get("period").asInt()).isEqualTo(7);
        assertThat(s.get("pattern").get("terminator").asInt()).isEqualTo(Integer.parseInt(terminator));
        JsonNode j = r.json();
        assertThat(j.get("bytes").asLong()).isEqualTo(48L << 20);
        assertThat(j.get("peer").asText()).isEqualTo(s.get("local").asText());
        assertThat(j.get("validation").get("terminator").asInt()).isEqualTo(Integer.parseInt(terminator));
        assertThat(j.get("validation").get("everyByte").asBoolean()).isTrue();
    }

    @Test
    void sendsCorruptAtIsCaughtAtThatOffset() throws Exception {
        Cli.Running recv = Cli.startIsolated("recv", "--listen", "127.0.0.1:0", "--dmabuf", "emulated", "--validate", "9");
        int port = recv.awaitListeningPort();
        Cli.Run send = Cli.startIsolated("send", "--connect", "127.0.0.1:" + port, "--bytes", "16M", "--pattern", "9",
                "--corrupt-at", "12345678").await();
        Cli.Run r = recv.await();
        assertThat(r.exit()).as(r.toString()).isEqualTo(ExitCodes.DATA_ERROR);
        assertThat(r.err()).contains("pattern mismatch at stream offset 12345678:");
        assertThat(send.exit()).as("the sender may or may not see the receiver leave: " + send)
                .isIn(ExitCodes.OK, ExitCodes.IO_ERROR);
    }
}
