package dev.devmem.reactor;

import dev.devmem.api.TxBindingSpec;
import dev.devmem.api.spi.DevmemBackend;
import dev.devmem.reactor.loop.SetupThreads;
import dev.devmem.reactor.tx.Region;
import dev.devmem.reactor.tx.TxSession;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Objects;
import java.util.function.Function;

/**
 * Sends TCP payloads straight from device memory (devmem TX, Linux 6.16+) as a Reactor stream. An
 * immutable configuration like {@link DevmemReceiver}: every setter checks, copies and returns the
 * copy; defaults live in {@link Defaults}.
 *
 * <pre>{@code
 * DevmemSender sender = DevmemSender.create(backend)
 *         .interfaceName("eth1").dmabuf(DmabufSource.udmabuf(64 << 20))
 *         .maxInFlightBytes(16 << 20).meterRegistry(registry);
 * sender.send(new InetSocketAddress("10.0.0.2", 5201), buffer -> Flux.range(0, 4096)
 *                 .concatMap(i -> buffer.lease(1 << 20))          // waits until a region is free again
 *                 .map(slice -> { fill(slice.segment()); return slice; }))
 *         .doOnNext(done -> log.info("slice {} is out", done.sequence()))
 *         .blockLast();
 * }</pre>
 *
 * <p>Subscribing binds the dmabuf for TX (the binding, its netlink socket and the dmabuf belong to the
 * subscription), connects to the remote through the bound interface, and hands the binding's
 * {@link TxBuffer} to the slice function. Slices are leased from that buffer, filled, and emitted;
 * the sender sends them in order and emits one {@link TxCompletion} per slice, in order, once the
 * kernel reported all its bytes complete, which is also when its region may be leased again. The
 * buffer never hands out a region that is still in flight: reusing memory early is not expressible.
 *
 * <p>Backpressure: at most {@link #maxInFlightBytes} bytes are sent and not yet completed; the slice
 * publisher gets {@code request(1)} only while the bytes taken and not completed are below that cap
 * (and the buffer's size bounds it too). Completions wait for downstream demand; while
 * 1024 of them wait, no new slice is requested.
 *
 * <p>Ending: the stream completes after the slice publisher completed and every completion was
 * emitted; the socket, binding and loops are closed before {@code onComplete} (and before
 * {@code onError}) reaches the subscriber. Cancel stops sending at once, gives back slices never sent,
 * waits up to {@link #closeGracePeriod} for the sends in flight to complete (their regions are never
 * handed out again either way), then closes the socket, the binding and the loops, in that order.
 *
 * <p>When the NIC or kernel cannot do devmem TX the subscriber gets the kernel's refusal
 * ({@code NetlinkException} EOPNOTSUPP "Driver does not support netmem TX", or EPERM should a
 * kernel require a privilege for bind-tx), unless {@link #copyFallback(boolean)} opted into sending
 * the dmabuf's host view as host memory; that is logged, counted ({@code devmem.tx.fallbacks}) and
 * visible on the buffer ({@link TxBuffer#fallbackCause()}), never silent.
 */
public final class DevmemSender extends DevmemTransport<DevmemSender> {

    /** The defaults, in one place. */
    public static final class Defaults {
        /** The meters' {@code name} tag when neither a name nor an interface is set. */
        public static final String NAME = TransportConfig.DEFAULT_NAME;
        /** Bytes sent and not yet completed, at most. */
        public static final long MAX_IN_FLIGHT_BYTES = 16L << 20;
        public static final int IO_THREADS = 1;
        /** After cancel or error, how long sends in flight may take to complete before the socket closes anyway. */
        public static final Duration CLOSE_GRACE_PERIOD = Duration.ofSeconds(5);

        private Defaults() {
        }
    }

    private final boolean copyFallback;
    private final long maxInFlightBytes;

    private DevmemSender(TransportConfig transport, boolean copyFallback, long maxInFlightBytes) {
        super(transport);
        this.copyFallback = copyFallback;
        this.maxInFlightBytes = maxInFlightBytes;
    }

    /** A sender on {@code backend} with every default; set the interface and dmabuf before sending. */
    public static DevmemSender create(DevmemBackend backend) {
        Objects.requireNonNull(backend, "backend");
        return new DevmemSender(TransportConfig.of(backend, Defaults.IO_THREADS, Defaults.CLOSE_GRACE_PERIOD), false,
                Defaults.MAX_IN_FLIGHT_BYTES);
    }

    @Override
    DevmemSender withTransport(TransportConfig t) {
        return new DevmemSender(t, copyFallback, maxInFlightBytes);
    }

    // ------------------------------------------------------------------ options (the shared ones: DevmemTransport)

    /** Interface, dmabuf and copy fallback at once. */
    public DevmemSender binding(TxBindingSpec spec) {
        Objects.requireNonNull(spec, "spec");
        return new DevmemSender(transport.withInterfaceName(spec.interfaceName()).withDmabuf(spec.dmabuf()),
                spec.copyFallback(), maxInFlightBytes);
    }

    /**
     * Opt-in (default off): when the kernel refuses bind-tx because the driver or kernel cannot do
     * devmem TX, and the dmabuf is host-mappable, send its host view as ordinary host memory
     * (MSG_ZEROCOPY without the devmem cmsg) instead of failing. Logged, counted, and visible on the
     * {@link TxBuffer}; any other refusal (EPERM, ENODEV) still fails the send.
     */
    public DevmemSender copyFallback(boolean enabled) {
        return new DevmemSender(transport, enabled, maxInFlightBytes);
    }

    /** The most bytes sent and not yet completed (default {@value Defaults#MAX_IN_FLIGHT_BYTES}). */
    public DevmemSender maxInFlightBytes(long bytes) {
        Args.atLeastOne("maxInFlightBytes", bytes);
        return new DevmemSender(transport, copyFallback, bytes);
    }

    // ------------------------------------------------------------------ getters

    public boolean copyFallback() {
        return copyFallback;
    }

    public long maxInFlightBytes() {
        return maxInFlightBytes;
    }

    /** What subscribing binds. */
    public TxBindingSpec bindingSpec() {
        return spec();
    }

    private TxBindingSpec spec() {
        if (transport.interfaceName() == null || transport.dmabuf() == null) {
            throw new IllegalStateException("sending needs interfaceName and dmabuf; have interface "
                    + transport.interfaceName() + ", dmabuf " + transport.dmabuf());
        }
        return new TxBindingSpec(transport.interfaceName(), transport.dmabuf(), copyFallback);
    }

    // ------------------------------------------------------------------ streams

    /**
     * Binds, connects to {@code remote}, and sends the slices {@code slices} emits from the buffer it
     * is given; emits each slice's {@link TxCompletion} in order. Everything (binding, buffer, socket,
     * loops unless shared) belongs to this one subscription.
     */
    public Flux<TxCompletion> send(InetSocketAddress remote,
                                   Function<? super TxBuffer, ? extends Publisher<TxSlice>> slices) {
        Objects.requireNonNull(remote, "remote");
        Objects.requireNonNull(slices, "slices");
        spec(); // fail at assembly, not at subscription, when it is incomplete
        return Flux.usingWhen(acquire(remote),
                session -> session.run(ring -> regions(new TxBuffer(ring), slices)),
                TxSession::close,
                (session, error) -> session.close(),
                TxSession::close);
    }

    /**
     * The user's slices, from the buffer they lease them from, as the regions the sender sends: the
     * slice is the public face of its region. Operators in the user's publisher that drop slices
     * (take, filter) give them back.
     */
    private static Publisher<Region> regions(TxBuffer buffer,
                                             Function<? super TxBuffer, ? extends Publisher<TxSlice>> slices) {
        Publisher<TxSlice> p = Objects.requireNonNull(slices.apply(buffer), "the slice source returned null");
        return Flux.from(p).doOnDiscard(TxSlice.class, TxSlice::release).map(TxSlice::region);
    }

    /** The session, opened on a setup thread; never lost on cancel. */
    private Mono<TxSession> acquire(InetSocketAddress remote) {
        return SetupThreads.open(TxSession.class,
                () -> TxSession.open(transport.resources(), maxInFlightBytes, spec(), remote), TxSession::close);
    }

    @Override
    public String toString() {
        return "DevmemSender{" + transport + ", copyFallback=" + copyFallback + ", maxInFlightBytes="
                + maxInFlightBytes + '}';
    }
}
