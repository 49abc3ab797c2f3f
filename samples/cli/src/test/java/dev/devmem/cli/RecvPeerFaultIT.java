package dev.devmem.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.devmem.ffm.testing.FaultPeer;
import dev.devmem.ffm.testing.NetcatPattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code bin/devmem recv} against peers that misbehave, on the Linux backend (plain TCP) and the
 * emulated NIC (DMABUF frags): a reset is a connection error (exit 4) and a FIN short of
 * {@code --bytes} a data error (exit 1), and in both cases {@code --json} still prints the summary
 * of what arrived, every byte of it validated.
 */
class RecvPeerFaultIT {
    private static final NetcatPattern PATTERN = NetcatPattern.kernelDoc();
    private final List<CliSubprocessIT.Proc> started = new ArrayList<>();

    @AfterEach
    void stopLeftovers() {
        for (CliSubprocessIT.Proc p : started) {
            p.process.destroyForcibly();
        }
    }

    private CliSubprocessIT.Proc recv(String backend, String... extra) throws Exception {
        List<String> args = new ArrayList<>(List.of("recv", "--listen", "127.0.0.1:0", "--validate", "7", "--json"));
        if (backend.equals("emulated")) {
            args.addAll(List.of("--dmabuf", "emulated"));
        }
        args.addAll(List.of(extra));
        CliSubprocessIT.Proc p = new CliSubprocessIT.Proc(CliSubprocessIT.devmem(args.toArray(String[]::new)));
        started.add(p);
        return p;
    }

    private static InetSocketAddress at(int port) {
        return new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
    }

    @ParameterizedTest
    @ValueSource(strings = {"linux", "emulated"})
    void aResetMidStreamIsAConnectionErrorWithTheSummaryOfEveryByteBefore(String backend) throws Exception {
        CliSubprocessIT.Proc recv = recv(backend);
        long bytes = 1_000_003;
        try (FaultPeer peer = FaultPeer.connect(at(recv.awaitListeningPort()), PATTERN)) {
            peer.send(bytes);
            peer.awaitAcknowledged(); // all of it in the receiving kernel: the reset discards none
            peer.reset();
        }
        CliSubprocessIT.Result r = recv.await();
        assertThat(r.exit()).as(r.toString()).isEqualTo(ExitCodes.IO_ERROR);
        assertThat(r.err()).contains("devmem recv: recvmsg(MSG_SOCK_DEVMEM) failed: ECONNRESET");
        JsonNode j = r.json();
        assertThat(j.get("result").asText()).isEqualTo("connection-error");
        assertThat(j.get("error").asText()).contains("ECONNRESET");
        assertThat(j.get("backend").asText()).isEqualTo(backend);
        assertThat(j.get("bytes").asLong()).as("every byte queued before the reset").isEqualTo(bytes);
        assertThat(j.get("validation").get("bytesValidated").asLong()).isEqualTo(bytes);
        assertThat(j.get("validation").get("everyByte").asBoolean()).as("not with a failed connection").isFalse();
        assertThat(j.get("tokens").get("outstanding").asLong()).isZero();
        assertThat(j.get("tokens").get("reclaimed").asLong()).isZero();
        if (backend.equals("emulated")) {
            assertThat(j.get("frags").get("dmabuf").asLong()).isPositive();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"linux", "emulated"})
    void aPeerThatResetsAtOnceIsAConnectionErrorNamingThePeer(String backend) throws Exception {
        CliSubprocessIT.Proc recv = recv(backend);
        String peerAddress;
        try (FaultPeer peer = FaultPeer.connect(at(recv.awaitListeningPort()), PATTERN)) {
            peerAddress = HostPort.format(peer.localAddress());
            peer.reset();
        }
        CliSubprocessIT.Result r = recv.await();
        assertThat(r.exit()).as(r.toString()).isEqualTo(ExitCodes.IO_ERROR);
        assertThat(r.err()).doesNotContain("Cannot invoke").contains("connection from " + peerAddress)
                .contains("ECONNRESET");
        JsonNode j = r.json();
        assertThat(j.get("result").asText()).isEqualTo("connection-error");
        assertThat(j.get("peer").asText()).isEqualTo(peerAddress);
        assertThat(j.get("bytes").asLong()).isZero();
    }

    @ParameterizedTest
    @ValueSource(strings = {"linux", "emulated"})
    void aFinShortOfBytesIsADataErrorWithTheSummary(String backend) throws Exception {
        CliSubprocessIT.Proc recv = recv(backend, "--bytes", "1M");
        long bytes = 100_000;
        try (FaultPeer peer = FaultPeer.connect(at(recv.awaitListeningPort()), PATTERN)) {
            peer.send(bytes);
            peer.shutdownOutput();
            CliSubprocessIT.Result r = recv.await();
            assertThat(r.exit()).as(r.toString()).isEqualTo(ExitCodes.DATA_ERROR);
            assertThat(r.err()).contains("the stream ended after 100000 bytes, short of the 1048576 asked for");
            JsonNode j = r.json();
            assertThat(j.get("result").asText()).isEqualTo("data-error");
            assertThat(j.get("bytes").asLong()).isEqualTo(bytes);
            assertThat(j.get("validation").get("bytesValidated").asLong()).isEqualTo(bytes);
            assertThat(j.get("tokens").get("outstanding").asLong()).isZero();
        }
    }
}
