package dev.devmem.reactor;

import dev.devmem.api.DmabufSource;
import dev.devmem.api.Errno;
import dev.devmem.api.FragKind;
import dev.devmem.api.NetlinkException;
import dev.devmem.ffm.DevmemBackends;
import dev.devmem.ffm.emulated.EmulatedBackend;
import dev.devmem.ffm.emulated.EmulatedEndpoint;
import dev.devmem.ffm.emulated.EmulatedListener;
import dev.devmem.ffm.emulated.EmulatedNic;
import dev.devmem.ffm.emulated.EmulatedNicConfig;
import dev.devmem.ffm.rx.DevmemSocketImpl;
import dev.devmem.ffm.rx.DmabufViews;
import dev.devmem.ffm.RxSocketOptions;
import dev.devmem.ffm.sys.LinuxConstants;
import dev.devmem.ffm.testing.NetcatPattern;
import dev.devmem.ffm.testing.TxWire;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.reactivestreams.Publisher;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The Reactor sender on the emulated devmem NIC: slices leased from the TX dmabuf, sent with devmem
 * sendmsg over real loopback TCP, and received by a {@link DevmemReceiver} on the same NIC's rx path,
 * every byte checked. The receiving socket has a small buffer and the consumer dawdles now and then,
 * so sent bytes wait, not yet copied anywhere, in the sender's queue: a region reused before its
 * completion would put wrong bytes on the wire.
 */
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class SenderTest {
    private static final NetcatPattern PATTERN = NetcatPattern.kernelDoc();
    private final List<AutoCloseable> closeables = new ArrayList<>();
    private EmulatedBackend backend;

    @AfterEach
    void closeAll() throws Exception {
        for (int i = closeables.size() - 1; i >= 0; i--) {
            closeables.get(i).close();
        }
        if (backend != null) {
            backend.close();
        }
    }

    private EmulatedBackend backend(EmulatedNicConfig config) throws Exception {
        backend = DevmemBackends.emulated(config.withRxQueues(1));
        return backend;
    }

    private DevmemSender sender(long dmabuf) {
        return DevmemSender.create(backend).interfaceName("emu0").dmabuf(DmabufSource.emulated(dmabuf));
    }

    /** A listener on the emulated NIC with a small receive buffer. */
    private EmulatedListener listener() throws Exception {
        EmulatedListener l = backend.nic().listen(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 1);
        closeables.add(l);
        TxWire.setInt(l.fd(), LinuxConstants.SOL_SOCKET, LinuxConstants.SO_RCVBUF, 64 << 10);
        return l;
    }

    /**
     * The receiving end: a DevmemReceiver (rx binding of its own) on the socket accepted from
     * {@code listener}; checks every frag at its stream position, releases it, and sums the bytes.
     * Dawdles {@code dawdleMillis} every 64 MiB.
     */
    private Mono<long[]> receive(EmulatedListener listener, long dawdleMillis) {
        EmulatedNic nic = backend.nic();
        DmabufViews views = id -> nic.liveBindings().stream().filter(b -> b.id() == id)
                .map(b -> b.hostView().orElse(null)).findFirst().orElse(null);
        DevmemReceiver r = DevmemReceiver.create(backend).interfaceName("emu0").rxQueues(0)
                .dmabuf(DmabufSource.emulated(1 << 20));
        long[] got = new long[2]; // bytes, DMABUF bytes
        return r.open(() -> new DevmemSocketImpl(accept(listener), RxSocketOptions.defaults(), views))
                .flatMapMany(DevmemConnection::receive)
                .doOnNext(f -> {
                    if (f.streamPosition() != got[0]) {
                        throw new AssertionError("frag at " + f.streamPosition() + ", expected " + got[0]);
                    }
                    PATTERN.verify(f.segment(), f.streamPosition());
                    if (dawdleMillis > 0 && (got[0] >>> 26) != ((got[0] + f.length()) >>> 26)) {
                        sleep(dawdleMillis);
                    }
                    got[0] += f.length();
                    if (f.kind() == FragKind.DMABUF) {
                        got[1] += f.length();
                    }
                    f.release();
                })
                .then(Mono.fromSupplier(() -> got));
    }

    private static EmulatedEndpoint accept(EmulatedListener l) throws Exception {
        long deadline = System.nanoTime() + Await.TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            EmulatedEndpoint e = l.accept();
            if (e != null) {
                return e;
            }
            TxWire.await(l.pollFd(), LinuxConstants.POLLIN, 100);
        }
        throw new AssertionError("nothing connected to " + l.localAddress());
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** {@code total} bytes of the pattern in slices of {@code slice} bytes, leased as room frees up. */
    static Function<TxBuffer, Publisher<TxSlice>> pattern(long total, int slice) {
        long slices = total / slice + (total % slice == 0 ? 0 : 1);
        return buffer -> Flux.range(0, (int) Math.min(Integer.MAX_VALUE, slices))
                .concatMap(i -> {
                    long pos = (long) i * slice;
                    return buffer.lease(Math.min(slice, total - pos)).map(s -> {
                        PATTERN.fill(s.segment(), pos);
                        return s;
                    });
                }, 0);
    }

    private static double count(SimpleMeterRegistry m, String name) {
        return m.get(name).counter().count();
    }

    /** 0 until the subscription registered its meters. */
    private static double stalls(SimpleMeterRegistry m, String reason) {
        var c = m.find("devmem.tx.stalls").tags("reason", reason).counter();
        return c == null ? 0 : c.count();
    }

    private static double gauge(SimpleMeterRegistry m, String name, String... tags) {
        return m.get(name).tags(tags).gauge().value();
    }

    @Test
    void aGibibyteFromEmulatedDeviceMemoryArrivesThroughTheReceiverEveryByteChecked() throws Exception {
        long total = Long.getLong("devmem.test.gib", 1) << 30;
        int slice = 256 << 10;
        backend(EmulatedNicConfig.defaults());
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        EmulatedListener listener = listener();
        Mono<long[]> received = receive(listener, 20).subscribeOn(reactor.core.scheduler.Schedulers.boundedElastic())
                .cache();
        received.subscribe();
        AtomicReference<TxBuffer> buffer = new AtomicReference<>();
        List<TxCompletion> done = new ArrayList<>();
        // 1 MiB of device memory, and an in-flight cap above it: only the completions free regions, so a
        // region reused before its completion would corrupt the stream (the dawdling receiver with its
        // small socket buffer makes sure sent bytes wait in the sender's queue)
        DevmemSender s = sender(1 << 20).meterRegistry(meters);
        s.send(listener.localAddress(), b -> {
                    buffer.set(b);
                    return pattern(total, slice).apply(b);
                })
                .doOnNext(done::add)
                .blockLast(Duration.ofMinutes(5));
        long[] got = received.block(Duration.ofMinutes(2));

        assertThat(got[0]).as("received and checked").isEqualTo(total);
        assertThat(got[1]).as("through the rx dmabuf").isEqualTo(total);
        assertThat(done).hasSize((int) (total / slice));
        for (int i = 0; i < done.size(); i++) {
            TxCompletion c = done.get(i);
            assertThat(c.sequence()).isEqualTo(i);
            assertThat(c.streamOffset()).isEqualTo((long) i * slice);
            assertThat(c.length()).isEqualTo(slice);
            assertThat(c.copied()).as("device memory is never copied").isFalse();
            assertThat(c.offset() % slice).as("regions are slices of the ring").isZero();
        }
        long sends = done.stream().mapToLong(TxCompletion::sends).sum();
        assertThat(count(meters, "devmem.tx.bytes")).isEqualTo((double) total);
        assertThat(count(meters, "devmem.tx.completed.bytes")).isEqualTo((double) total);
        assertThat(count(meters, "devmem.tx.sends")).isEqualTo((double) sends);
        assertThat(count(meters, "devmem.tx.completions")).isEqualTo((double) sends);
        assertThat(count(meters, "devmem.tx.slices")).isEqualTo((double) done.size());
        assertThat(count(meters, "devmem.tx.copied")).isZero();
        assertThat(count(meters, "devmem.tx.notifications")).isBetween(1.0, (double) sends);
        assertThat(gauge(meters, "devmem.tx.outstanding.bytes")).isZero();
        assertThat(gauge(meters, "devmem.tx.bindings.active", "mode", "devmem")).isZero();
        assertThat(buffer.get().waits()).as("leases waited for completions to free regions").isPositive();
        assertThat(buffer.get().leasedBytes()).isZero();
        assertThat(backend.nic().txBindings()).as("the binding went with the subscription").isEmpty();
        System.out.printf("reactor TX over the emulated NIC: %d bytes, %d slices, %d sends, %.0f notifications,"
                        + " %d lease waits, stalls inflight %.0f socket %.0f%n", total, done.size(), sends,
                count(meters, "devmem.tx.notifications"), buffer.get().waits(),
                meters.get("devmem.tx.stalls").tags("reason", "inflight").counter().count(),
                meters.get("devmem.tx.stalls").tags("reason", "socket").counter().count());
    }

    @Test
    void bytesInFlightNeverExceedTheCapAndSlicesAreRequestedOneByOne() throws Exception {
        backend(EmulatedNicConfig.defaults());
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        EmulatedListener listener = listener();
        Mono<long[]> received = receive(listener, 0).cache();
        received.subscribe();
        long cap = 96 << 10;
        long total = 64L << 20;
        AtomicLong maxSeen = new AtomicLong();
        List<Long> requests = new CopyOnWriteArrayList<>();
        DevmemSender s = sender(1 << 20).maxInFlightBytes(cap).meterRegistry(meters);
        Disposable sampler = Flux.interval(Duration.ofMillis(1)).subscribe(i -> {
            var g = meters.find("devmem.tx.outstanding.bytes").gauge();
            if (g != null) {
                maxSeen.accumulateAndGet((long) g.value(), Math::max);
            }
        });
        try {
            s.send(listener.localAddress(), b -> Flux.from(pattern(total, 64 << 10).apply(b)).doOnRequest(requests::add))
                    .doOnNext(c -> maxSeen.accumulateAndGet((long) gauge(meters, "devmem.tx.outstanding.bytes"), Math::max))
                    .blockLast(Duration.ofMinutes(2));
        } finally {
            sampler.dispose();
        }
        assertThat(received.block(Duration.ofMinutes(1))[0]).isEqualTo(total);
        assertThat(maxSeen.get()).as("sent, not completed").isPositive().isLessThanOrEqualTo(cap);
        assertThat(requests).as("one slice at a time").containsOnly(1L).hasSizeGreaterThanOrEqualTo(1024);
        assertThat(meters.get("devmem.tx.stalls").tags("reason", "inflight").counter().count()).isPositive();
    }

    @Test
    void cancelMidStreamWaitsForWhatIsInFlightAndLeavesNothingOutstanding() throws Exception {
        backend(EmulatedNicConfig.defaults());
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        EmulatedListener listener = listener();
        Mono<long[]> received = receive(listener, 0).cache();
        received.subscribe();
        AtomicReference<TxBuffer> buffer = new AtomicReference<>();
        List<TxCompletion> done = s(meters).send(listener.localAddress(), b -> {
                    buffer.set(b);
                    return pattern(Long.MAX_VALUE, 100_000).apply(b); // endless
                })
                .take(200) // then cancel
                .collectList().block(Duration.ofMinutes(2));
        assertThat(done).hasSize(200);
        Await.until("the subscription's binding is gone", () -> backend.nic().txBindings().isEmpty());
        Await.until("the bindings gauge is back to 0",
                () -> gauge(meters, "devmem.tx.bindings.active", "mode", "devmem") == 0);
        long[] got = received.block(Duration.ofMinutes(1)); // the sender's close ends the receiver's stream
        double sent = count(meters, "devmem.tx.bytes");
        assertThat(gauge(meters, "devmem.tx.outstanding.bytes")).isZero();
        assertThat(count(meters, "devmem.tx.completed.bytes")).as("every byte sent completed before the close")
                .isEqualTo(sent);
        assertThat(count(meters, "devmem.tx.completions")).isEqualTo(count(meters, "devmem.tx.sends"));
        assertThat((double) got[0]).as("what was sent arrived, checked").isEqualTo(sent);
        assertThat(sent).isGreaterThanOrEqualTo(200 * 100_000.0);
        assertThat(buffer.get().leasedBytes()).as("unsent slices given back, sent ones completed").isZero();
        assertThat(buffer.get().waitingLeases()).isZero();
    }

    private DevmemSender s(SimpleMeterRegistry meters) {
        return sender(1 << 20).maxInFlightBytes(512 << 10).meterRegistry(meters);
    }

    @Test
    void cancelWhileThePeerReadsNothingAbandonsTheInFlightRegionsAfterTheGrace() throws Exception {
        backend(EmulatedNicConfig.defaults());
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        EmulatedListener listener = listener();
        AtomicReference<EmulatedEndpoint> peer = new AtomicReference<>();
        Thread acceptor = new Thread(() -> {
            try {
                peer.set(accept(listener)); // accepted, never read
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        acceptor.start();
        AtomicReference<TxBuffer> buffer = new AtomicReference<>();
        Disposable d = sender(4 << 20).maxInFlightBytes(4 << 20).closeGracePeriod(Duration.ofMillis(200))
                .meterRegistry(meters)
                .send(listener.localAddress(), b -> {
                    buffer.set(b);
                    return pattern(Long.MAX_VALUE, 64 << 10).apply(b);
                })
                .subscribe();
        // the peer's 64 KiB receive buffer is full; the sender stopped at its cap or a full socket, with
        // the bytes beyond the peer's buffer waiting in its own queue
        Await.until("the sender stops with bytes in flight", () -> stalls(meters, "socket") + stalls(meters, "inflight") > 0
                && gauge(meters, "devmem.tx.outstanding.bytes") > (256 << 10), () -> "sent " + count(meters,
                "devmem.tx.bytes") + ", buffer " + buffer.get());
        d.dispose();
        Await.until("the subscription's binding is gone", () -> backend.nic().txBindings().isEmpty());
        acceptor.join();
        double sent = count(meters, "devmem.tx.bytes");
        double completed = count(meters, "devmem.tx.completed.bytes");
        assertThat(completed).as("some bytes never completed: the peer never read them").isLessThan(sent);
        assertThat(gauge(meters, "devmem.tx.outstanding.bytes")).as("abandoned bytes leave the gauge").isZero();
        assertThat(buffer.get().leasedBytes()).as("their regions are never freed, so never reused")
                .isGreaterThanOrEqualTo((long) (sent - completed));
        assertThatTxBufferIsClosed(buffer.get());
        peer.get().close();
    }

    private static void assertThatTxBufferIsClosed(TxBuffer b) {
        StepVerifier.create(b.lease(1)).expectError(IllegalStateException.class).verify(Duration.ofSeconds(5));
    }

    @Test
    void theKernelsRefusalReachesTheSubscriberWithItsText() throws Exception {
        backend(EmulatedNicConfig.defaults().withNetmemTx(false));
        EmulatedListener listener = listener();
        StepVerifier.create(sender(1 << 20).send(listener.localAddress(), pattern(1 << 20, 4096)))
                .expectErrorSatisfies(e -> {
                    assertThat(e).isInstanceOf(NetlinkException.class);
                    assertThat(((NetlinkException) e).errno()).isEqualTo(Errno.EOPNOTSUPP);
                    assertThat(((NetlinkException) e).extackMessage()).contains("Driver does not support netmem TX");
                })
                .verify(Duration.ofSeconds(30));
        assertThat(backend.nic().txBindings()).isEmpty();
    }

    @Test
    void theCopyFallbackIsOptInAndSaysSoWhileTheBytesStillArriveIntact() throws Exception {
        backend(EmulatedNicConfig.defaults().withNetmemTx(false));
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        EmulatedListener listener = listener();
        Mono<long[]> received = receive(listener, 0).cache();
        received.subscribe();
        AtomicReference<TxBuffer> buffer = new AtomicReference<>();
        AtomicReference<Double> fallbackGauge = new AtomicReference<>();
        long total = 16L << 20;
        List<TxCompletion> done = sender(1 << 20).copyFallback(true).meterRegistry(meters)
                .send(listener.localAddress(), b -> {
                    buffer.set(b);
                    return pattern(total, 128 << 10).apply(b);
                })
                .doOnNext(c -> fallbackGauge.set(gauge(meters, "devmem.tx.bindings.active", "mode", "fallback")))
                .collectList().block(Duration.ofMinutes(1));
        assertThat(received.block(Duration.ofMinutes(1))[0]).isEqualTo(total);
        assertThat(buffer.get().bindingId()).isZero();
        assertThat(buffer.get().fallbackCause()).get().isInstanceOfSatisfying(NetlinkException.class,
                e -> assertThat(e.errno()).isEqualTo(Errno.EOPNOTSUPP));
        assertThat(done).hasSize(128).allMatch(TxCompletion::copied);
        assertThat(count(meters, "devmem.tx.fallbacks")).isEqualTo(1);
        assertThat(fallbackGauge.get()).isEqualTo(1);
        assertThat(gauge(meters, "devmem.tx.bindings.active", "mode", "fallback")).isZero();
        assertThat(count(meters, "devmem.tx.copied")).isEqualTo(count(meters, "devmem.tx.completions"));
    }

    @Test
    void aSliceEmittedTwiceOrFromAnotherBufferFailsTheSend() throws Exception {
        backend(EmulatedNicConfig.defaults());
        EmulatedListener listener = listener();
        StepVerifier.create(sender(1 << 20).send(listener.localAddress(), b -> {
                    TxSlice s = b.tryLease(4096);
                    PATTERN.fill(s.segment(), 0);
                    return Flux.just(s, s);
                }))
                .thenConsumeWhile(c -> c.sequence() == 0) // the first emission may complete before the second
                .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(IllegalStateException.class)
                        .hasMessageContaining("emitted twice"))
                .verify(Duration.ofSeconds(30));
        TxBuffer other = new TxBuffer(new dev.devmem.reactor.tx.RegionRing(new TxBufferTest.Binding(4096,
                java.lang.foreign.Arena.ofAuto().allocate(4096))));
        StepVerifier.create(sender(1 << 20).send(listener.localAddress(), b -> Flux.just(other.tryLease(10))))
                .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(IllegalArgumentException.class)
                        .hasMessageContaining("another TxBuffer"))
                .verify(Duration.ofSeconds(30));
        Await.until("no binding left", () -> backend.nic().txBindings().isEmpty());
    }

    @Test
    void anEmptySourceCompletesAndReleasesEverything() throws Exception {
        backend(EmulatedNicConfig.defaults());
        EmulatedListener listener = listener();
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        StepVerifier.create(sender(1 << 20).meterRegistry(meters).send(listener.localAddress(), b -> Flux.empty()))
                .verifyComplete();
        assertThat(backend.nic().txBindings()).as("closed before onComplete").isEmpty();
        assertThat(gauge(meters, "devmem.tx.bindings.active", "mode", "devmem")).isZero();
    }

    @Test
    void cancelsAtRandomPointsLeakNothing() throws Exception {
        backend(EmulatedNicConfig.defaults());
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(20260101);
        for (int round = 0; round < 30; round++) {
            try (java.nio.channels.ServerSocketChannel server = java.nio.channels.ServerSocketChannel.open()) {
                server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
                Thread drainer = new Thread(() -> {
                    try (java.nio.channels.SocketChannel c = server.accept()) {
                        java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocateDirect(1 << 20);
                        while (c.read(buf.clear()) >= 0) {
                            // discard
                        }
                    } catch (java.io.IOException e) {
                        // closed by the end of the round
                    }
                }, "drainer");
                drainer.setDaemon(true);
                drainer.start();
                int slice = 4096 * (1 + rnd.nextInt(64));
                long cancelAfter = rnd.nextInt(40); // completions; 0 = cancel while setting up or at once
                AtomicReference<TxBuffer> buffer = new AtomicReference<>();
                AtomicLong seen = new AtomicLong();
                java.util.concurrent.CountDownLatch enough = new java.util.concurrent.CountDownLatch(1);
                Disposable d = sender(1 << 20).maxInFlightBytes(256 << 10).meterRegistry(meters)
                        .send((InetSocketAddress) server.getLocalAddress(), b -> {
                            buffer.set(b);
                            return pattern(Long.MAX_VALUE, slice).apply(b);
                        })
                        .subscribe(c -> {
                            if (seen.incrementAndGet() >= cancelAfter) {
                                enough.countDown();
                            }
                        });
                if (cancelAfter > 0) {
                    assertThat(enough.await(20, TimeUnit.SECONDS)).isTrue();
                }
                d.dispose();
                Await.until("round " + round + ": the binding is gone", () -> backend.nic().txBindings().isEmpty()
                        && (meters.find("devmem.tx.bindings.active").gauge() == null
                        || gauge(meters, "devmem.tx.bindings.active", "mode", "devmem") == 0));
                Await.until("round " + round + ": nothing in flight",
                        () -> meters.find("devmem.tx.outstanding.bytes").gauge() == null
                                || gauge(meters, "devmem.tx.outstanding.bytes") == 0);
                if (buffer.get() != null) {
                    TxBuffer b = buffer.get();
                    Await.until("round " + round + ": every region back", () -> b.leasedBytes() == 0, b::toString);
                    assertThat(b.waitingLeases()).isZero();
                }
            }
        }
        assertThat(count(meters, "devmem.tx.completed.bytes")).as("every byte sent completed")
                .isEqualTo(count(meters, "devmem.tx.bytes"));
        assertThat(count(meters, "devmem.tx.completions")).isEqualTo(count(meters, "devmem.tx.sends"));
        assertThat(gauge(meters, "devmem.tx.bindings.active", "mode", "devmem")).isZero();
    }

    @Test
    void anIncompleteConfigurationFailsAtAssembly() throws Exception {
        backend(EmulatedNicConfig.defaults());
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> DevmemSender.create(backend)
                        .send(new InetSocketAddress(1), b -> Flux.empty()))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("interfaceName");
    }
}
