package dev.devmem.reactor;

import dev.devmem.api.DmabufSource;
import dev.devmem.api.Errno;
import dev.devmem.api.SyscallException;
import dev.devmem.ffm.DevmemBackends;
import dev.devmem.ffm.emulated.EmulatedBackend;
import dev.devmem.ffm.emulated.EmulatedNicConfig;
import dev.devmem.ffm.emulated.EmulatedNicStats;
import dev.devmem.ffm.emulated.FlowSteering;
import dev.devmem.ffm.testing.NetcatPattern;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A {@code listen()} server under peers that reset (SO_LINGER 0, as port scanners and TCP health
 * checks do): before sending anything, or in the middle of a stream, interleaved with good peers
 * streaming at the same time. Each reset connection fails alone with a typed ECONNRESET; the server
 * keeps accepting, every good stream arrives whole (every byte validated at its stream position),
 * and at the end nothing is held: no frag outstanding, none reclaimed, no NIC buffer held.
 */
class PeerResetTest {
    private static final NetcatPattern PATTERN = NetcatPattern.kernelDoc();
    private static final int ROUNDS = 6;
    private static final long GOOD_BYTES = 4L << 20;
    private static final long CUT_BYTES = 300_000;

    private EmulatedBackend emulated;

    @AfterEach
    void closeNic() {
        if (emulated != null) {
            emulated.close();
        }
    }

    @Test
    void theLinuxBackendServesGoodPeersBetweenResettingOnes() throws Exception {
        serveThroughResets(DevmemReceiver.create(DevmemBackends.linux()));
    }

    @Test
    void theEmulatedNicServesGoodPeersBetweenResettingOnes() throws Exception {
        EmulatedNicConfig config = EmulatedNicConfig.defaults().withRxQueues(2).withFlowSteering(FlowSteering.toQueue(0));
        emulated = DevmemBackends.emulated(config);
        serveThroughResets(DevmemReceiver.create(emulated).interfaceName(config.interfaceName()).rxQueues(0)
                .dmabuf(DmabufSource.emulated(4L << 20)));
        Await.until("no live binding", () -> emulated.nic().liveBindings().isEmpty());
        EmulatedNicStats stats = emulated.nic().stats();
        assertThat(stats.tokensOutstanding()).isZero();
        assertThat(stats.buffersHeld()).isZero();
        assertThat(stats.dmabufBytes()).as("the good streams came as DMABUF frags")
                .isGreaterThanOrEqualTo(ROUNDS * GOOD_BYTES);
    }

    /** How one accepted connection ended. */
    private record Outcome(long bytes, Throwable error) {
    }

    private void serveThroughResets(DevmemReceiver receiver) throws Exception {
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        receiver = receiver.meterRegistry(meters);
        InetSocketAddress addr = Peer.freeLoopbackAddress();
        Map<Integer, Outcome> outcomes = new ConcurrentHashMap<>();
        Disposable server = receiver.listen(addr)
                .flatMap(c -> {
                    InetSocketAddress peer = c.remoteAddress();
                    assertThat(peer).as("every accepted connection knows its peer, reset or not").isNotNull();
                    AtomicLong next = new AtomicLong();
                    return c.receive(frags -> frags.doOnNext(f -> {
                                try {
                                    assertThat(f.streamPosition()).isEqualTo(next.get());
                                    PATTERN.verify(f.segment(), f.streamPosition());
                                    next.addAndGet(f.length());
                                } finally {
                                    f.release();
                                }
                            }))
                            .then(Mono.fromRunnable(() -> outcomes.put(peer.getPort(), new Outcome(next.get(), null))))
                            .onErrorResume(e -> Mono.fromRunnable(
                                    () -> outcomes.put(peer.getPort(), new Outcome(next.get(), e))));
                }, 64)
                .subscribe(null, e -> outcomes.put(-1, new Outcome(0, e)));

        List<Peer> good = new ArrayList<>();
        List<Integer> goodPorts = new ArrayList<>();
        List<Thread> writers = new ArrayList<>();
        List<Integer> resetAtOnce = new ArrayList<>();
        List<Integer> resetMidStream = new ArrayList<>();
        try {
            for (int i = 0; i < ROUNDS; i++) {
                Peer a = Peer.connect(addr, PATTERN); // connects and resets at once, before sending a byte
                resetAtOnce.add(port(a));
                a.reset();
                Peer g = Peer.connect(addr, PATTERN); // streams while the others reset
                good.add(g);
                goodPorts.add(port(g));
                writers.add(g.sendAsync(GOOD_BYTES, true));
                Peer m = Peer.connect(addr, PATTERN); // sends part of a stream, then resets
                resetMidStream.add(port(m));
                m.send(CUT_BYTES);
                m.reset();
            }
            for (Thread w : writers) {
                w.join(Await.TIMEOUT.toMillis());
            }
            int expected = 3 * ROUNDS;
            Await.until(expected + " connections ended", () -> outcomes.size() >= expected, outcomes::toString);
        } finally {
            server.dispose();
            for (Peer g : good) {
                g.close();
            }
        }
        assertThat(outcomes).as("the listener itself never failed").doesNotContainKey(-1);
        for (int port : goodPorts) {
            Outcome o = outcomes.get(port);
            assertThat(o).as("good peer %d", port).isNotNull();
            assertThat(o.error).as("good peer %d", port).isNull();
            assertThat(o.bytes).as("good peer %d: every byte", port).isEqualTo(GOOD_BYTES);
        }
        for (int port : resetAtOnce) {
            Outcome o = outcomes.get(port);
            assertThat(o.bytes).isZero();
            assertEconnreset(o);
        }
        for (int port : resetMidStream) {
            Outcome o = outcomes.get(port);
            // the reset discards what the peer's kernel had not sent yet: a prefix, every byte checked
            assertThat(o.bytes).isBetween(0L, CUT_BYTES);
            assertEconnreset(o);
        }
        Await.until("every connection closed", () -> meters.get("devmem.connections.active").gauge().value() == 0);
        assertThat(meters.get("devmem.tokens.outstanding").gauge().value()).isZero();
        assertThat(meters.counter("devmem.reclaimed.frags").count()).as("nothing left for the kernel to reclaim").isZero();
    }

    private static void assertEconnreset(Outcome o) {
        assertThat(o.error).isInstanceOf(SyscallException.class);
        SyscallException e = (SyscallException) o.error;
        assertThat(e.errno()).isEqualTo(Errno.ECONNRESET);
        assertThat(e.operation()).contains("recvmsg");
    }

    private static int port(Peer p) {
        try {
            return ((InetSocketAddress) p.channel.getLocalAddress()).getPort();
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
    }
}
