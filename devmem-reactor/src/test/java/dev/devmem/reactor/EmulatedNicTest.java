package dev.devmem.reactor;

import dev.devmem.api.DevmemFrag;
import dev.devmem.api.DmabufSource;
import dev.devmem.api.Errno;
import dev.devmem.api.FragKind;
import dev.devmem.api.SyscallException;
import dev.devmem.ffm.DevmemBackends;
import dev.devmem.ffm.emulated.EmulatedBackend;
import dev.devmem.ffm.emulated.EmulatedNicConfig;
import dev.devmem.ffm.testing.NetcatPattern;
import dev.devmem.reactor.rx.Scope;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;
import reactor.test.StepVerifier;

import java.net.InetSocketAddress;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The receive Flux over the emulated devmem NIC (dmabuf path) fed by a real loopback TCP peer: the
 * same backend SPI and engine as the kernel, with DMABUF frags that are host-readable.
 */
class EmulatedNicTest {
    private static final NetcatPattern PATTERN = NetcatPattern.kernelDoc();
    private static final long GIB = 1L << 30;

    private EmulatedBackend backend;

    private DevmemReceiver receiver(EmulatedNicConfig config, long dmabufBytes) throws Exception {
        backend = DevmemBackends.emulated(config);
        return DevmemReceiver.create(backend).interfaceName(config.interfaceName()).rxQueues(0)
                .dmabuf(DmabufSource.emulated(dmabufBytes));
    }

    @AfterEach
    void closeNic() {
        if (backend != null) {
            backend.close();
        }
    }

    private void awaitUnbound() {
        Await.until("rx queue 0 has no binding (queue dump)", () -> backend.nic().queueDmabuf(0) == 0);
        Await.until("no live binding", () -> backend.nic().liveBindings().isEmpty(),
                () -> backend.nic().liveBindings().toString());
    }

    @Test
    void gibibyteNetcatStreamWithAsynchronousReleaseEveryByteValidated() throws Exception {
        long total = Long.getLong("devmem.test.gib", 1) * GIB;
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        EmulatedNicConfig config = EmulatedNicConfig.defaults().withRxQueues(1);
        DevmemReceiver r = receiver(config, 64L << 20).meterRegistry(meters);
        InetSocketAddress addr = Peer.freeLoopbackAddress();
        Scheduler validators = Schedulers.newParallel("validator", 1);
        AtomicLong next = new AtomicLong();
        AtomicLong maxOutstanding = new AtomicLong();
        try {
            Mono<Long> bytes = r.listen(addr).take(1)
                    .flatMap(c -> c.receive()
                            .doOnNext(f -> maxOutstanding.accumulateAndGet(c.stats().fragsOutstanding(), Math::max))
                            .publishOn(validators, 512))
                    .doOnNext(f -> {
                        if (f.streamPosition() != next.get()) {
                            throw new AssertionError("frag at " + f.streamPosition() + ", expected " + next.get());
                        }
                        PATTERN.verify(f.segment(), f.streamPosition());
                        next.addAndGet(f.length());
                        f.release();
                    })
                    .map(f -> (long) f.length())
                    .reduce(0L, Long::sum);
            AtomicReference<Peer> peer = new AtomicReference<>();
            StepVerifier.create(bytes)
                    .then(() -> {
                        peer.set(Peer.connect(addr, PATTERN));
                        peer.get().sendAsync(total, true);
                    })
                    .expectNext(total)
                    .expectComplete()
                    .verify(java.time.Duration.ofMinutes(5));
            peer.get().close();
        } finally {
            validators.dispose();
        }
        awaitUnbound();
        double dmabufFrags = meters.get("devmem.received.frags").tags("kind", "dmabuf").counter().count();
        double received = dmabufFrags + meters.get("devmem.received.frags").tags("kind", "linear").counter().count()
                + meters.get("devmem.received.frags").tags("kind", "host").counter().count();
        double receivedBytes = meters.get("devmem.received.bytes").tags("kind", "dmabuf").counter().count()
                + meters.get("devmem.received.bytes").tags("kind", "linear").counter().count()
                + meters.get("devmem.received.bytes").tags("kind", "host").counter().count();
        assertThat(receivedBytes).as("meters add up to what was sent").isEqualTo((double) total);
        assertThat(dmabufFrags).as("the dmabuf path").isGreaterThanOrEqualTo(total / config.fragSize());
        Await.until("meters settle", () -> meters.get("devmem.returned.frags").counter().count() == received);
        assertThat(meters.get("devmem.reclaimed.frags").counter().count()).isZero();
        assertThat(meters.get("devmem.tokens.outstanding").gauge().value()).isZero();
        // the scope counts the binding down after the NIC has unbound it, on its setup thread
        Await.until("connection and binding gauges at zero", () -> meters.get("devmem.connections.active").gauge()
                .value() == 0 && meters.get("devmem.bindings.active").gauge().value() == 0);
        double calls = meters.get("devmem.dontneed.calls").counter().count();
        double minimum = Math.ceil(dmabufFrags / 1024);
        System.out.printf("emulated %d MiB: %.0f frags, %.0f DONTNEED calls (minimum %.0f), tokens/call mean %.1f, "
                        + "max outstanding %d, stalls demand %.0f tokens %.0f buffers %.0f%n",
                total >> 20, received, calls, minimum, meters.get("devmem.dontneed.tokens").summary().mean(),
                maxOutstanding.get(), meters.get("devmem.stalls").tags("reason", "demand").counter().count(),
                meters.get("devmem.stalls").tags("reason", "tokens").counter().count(),
                meters.get("devmem.stalls").tags("reason", "buffers").counter().count());
        assertThat(calls).as("DONTNEED calls within 2x of the kernel minimum").isLessThanOrEqualTo(2 * minimum);
        assertThat(meters.get("devmem.dontneed.tokens").summary().totalAmount())
                .isCloseTo(dmabufFrags, org.assertj.core.data.Offset.offset(0.01));
        assertThat(maxOutstanding.get()).isLessThanOrEqualTo(Scope.defaultBudget((64 << 20) / config.fragSize()));
    }

    @Test
    void headerSplitFailuresArriveAsLinearFragsInStreamOrder() throws Exception {
        EmulatedNicConfig config = EmulatedNicConfig.defaults().withRxQueues(1).withHeaderSplitFailures(0.2, 42);
        DevmemReceiver r = receiver(config, 16L << 20);
        InetSocketAddress addr = Peer.freeLoopbackAddress();
        long total = 8L << 20;
        long[] kinds = new long[3];
        AtomicLong next = new AtomicLong();
        StepVerifier.create(r.receiveOne(addr).doOnNext(f -> {
                    assertThat(f.streamPosition()).isEqualTo(next.getAndAdd(f.length()));
                    PATTERN.verify(f.segment(), f.streamPosition());
                    kinds[f.kind().ordinal()]++;
                    f.release();
                }).count())
                .then(() -> Peer.connect(addr, PATTERN).sendAsync(total, true))
                .expectNextCount(1)
                .expectComplete()
                .verify(Await.TIMEOUT);
        assertThat(next.get()).isEqualTo(total);
        assertThat(kinds[FragKind.LINEAR.ordinal()]).as("LINEAR frags from failed header splits").isPositive();
        assertThat(kinds[FragKind.DMABUF.ordinal()]).isPositive();
        awaitUnbound();
    }

    @Test
    void cancelWithASilentPeerClosesSocketAndUnbinds() throws Exception {
        DevmemReceiver r = receiver(EmulatedNicConfig.defaults().withRxQueues(1), 4L << 20);
        InetSocketAddress addr = Peer.freeLoopbackAddress();
        AtomicLong bytes = new AtomicLong();
        AtomicReference<DevmemConnection> conn = new AtomicReference<>();
        Disposable d = r.listen(addr).flatMap(c -> {
            conn.set(c);
            return c.receive();
        }).subscribe(f -> {
            bytes.addAndGet(f.length());
            f.release();
        });
        Peer peer = Peer.connect(addr, PATTERN);
        peer.send(1 << 20);
        Await.until("1 MiB received", () -> bytes.get() == 1 << 20);
        assertThat(backend.nic().queueDmabuf(0)).as("bound while receiving").isPositive();
        d.dispose(); // the peer stays connected and silent
        Await.until("socket closed", () -> conn.get().stats().closed());
        awaitUnbound();
        assertThat(conn.get().stats().fragsOutstanding()).isZero();
        assertThat(conn.get().stats().fragsReclaimed()).isZero();
        assertThat(peer.channel.read(java.nio.ByteBuffer.allocate(1))).as("the peer sees the close").isEqualTo(-1);
        peer.close();
    }

    @Test
    void peerResetArrivesAsEconnresetAndUnbinds() throws Exception {
        DevmemReceiver r = receiver(EmulatedNicConfig.defaults().withRxQueues(1), 4L << 20);
        InetSocketAddress addr = Peer.freeLoopbackAddress();
        AtomicReference<Peer> peer = new AtomicReference<>();
        AtomicLong seen = new AtomicLong();
        StepVerifier.create(r.receiveOne(addr).doOnNext(DevmemFrag::release))
                .then(() -> {
                    peer.set(Peer.connect(addr, PATTERN));
                    try {
                        peer.get().send(64 * 1024);
                    } catch (java.io.IOException e) {
                        throw new AssertionError(e);
                    }
                })
                .thenConsumeWhile(f -> seen.addAndGet(f.length()) < 64 * 1024)
                .then(() -> {
                    try {
                        peer.get().reset();
                    } catch (java.io.IOException e) {
                        throw new AssertionError(e);
                    }
                })
                .thenConsumeWhile(f -> true)
                .expectErrorSatisfies(e -> assertThat(e).isInstanceOfSatisfying(SyscallException.class,
                        se -> assertThat(se.errno()).isEqualTo(Errno.ECONNRESET)))
                .verify(Await.TIMEOUT);
        awaitUnbound();
    }

    @Test
    void bindingAnUnknownInterfaceFailsTyped() throws Exception {
        backend = DevmemBackends.emulated(EmulatedNicConfig.defaults());
        DevmemReceiver r = DevmemReceiver.create(backend).interfaceName("nope0").rxQueues(0)
                .dmabuf(DmabufSource.emulated(1 << 20));
        StepVerifier.create(r.receiveOne(Peer.freeLoopbackAddress()))
                .expectErrorSatisfies(e -> assertThat(e).isInstanceOfSatisfying(SyscallException.class,
                        se -> assertThat(se.errno()).isEqualTo(Errno.ENODEV)))
                .verify(Await.TIMEOUT);
    }
}
