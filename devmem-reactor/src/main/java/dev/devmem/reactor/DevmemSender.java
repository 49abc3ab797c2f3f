package dev.devmem.reactor;

import dev.devmem.api.DmabufSource;
import dev.devmem.api.TxBindingSpec;
import dev.devmem.api.spi.DevmemBackend;
import io.micrometer.core.instrument.MeterRegistry;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;

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
public final class DevmemSender {

    /** The defaults, in one place. */
    public static final class Defaults {
        /** The meters' {@code name} tag when neither a name nor an interface is set. */
        public static final String NAME = "default";
        /** Bytes sent and not yet completed, at most. */
        public static final long MAX_IN_FLIGHT_BYTES = 16L << 20;
        public static final int IO_THREADS = 1;
        /** After cancel or error, how long sends in flight may take to complete before the socket closes anyway. */
        public static final Duration CLOSE_GRACE_PERIOD = Duration.ofSeconds(5);

        private Defaults() {
        }
    }

    private final DevmemBackend backend;
    private final String name;
    private final String interfaceName;
    private final DmabufSource dmabuf;
    private final boolean copyFallback;
    private final long maxInFlightBytes;
    private final int ioThreads;
    private final DevmemLoops loops;
    private final MeterRegistry meterRegistry;
    private final Scheduler timer;
    private final Duration closeGracePeriod;

    private DevmemSender(Builder b) {
        backend = b.backend;
        name = b.name;
        interfaceName = b.interfaceName;
        dmabuf = b.dmabuf;
        copyFallback = b.copyFallback;
        maxInFlightBytes = b.maxInFlightBytes;
        ioThreads = b.ioThreads;
        loops = b.loops;
        meterRegistry = b.meterRegistry;
        timer = b.timer;
        closeGracePeriod = b.closeGracePeriod;
    }

    /** A sender on {@code backend} with every default; set the interface and dmabuf before sending. */
    public static DevmemSender create(DevmemBackend backend) {
        Builder b = new Builder();
        b.backend = Objects.requireNonNull(backend, "backend");
        return new DevmemSender(b);
    }

    // ------------------------------------------------------------------ options

    /**
     * The value of the {@code name} tag on every meter this sender records, so several in one registry
     * are told apart. Low cardinality: a fixed name per configured sender, never per connection or
     * address. Default: the {@linkplain #interfaceName interface name}, or {@code "default"} when none is set.
     */
    public DevmemSender name(String name) {
        Args.notBlank("name", name);
        return with(b -> b.name = name);
    }

    /** The netdev the flows leave through: the TX binding's device, and the socket's (SO_BINDTODEVICE). */
    public DevmemSender interfaceName(String interfaceName) {
        Args.notBlank("interfaceName", interfaceName);
        return with(b -> b.interfaceName = interfaceName);
    }

    /** The device memory to send from: bound for TX per subscription. */
    public DevmemSender dmabuf(DmabufSource dmabuf) {
        Objects.requireNonNull(dmabuf, "dmabuf");
        return with(b -> b.dmabuf = dmabuf);
    }

    /** Interface, dmabuf and copy fallback at once. */
    public DevmemSender binding(TxBindingSpec spec) {
        Objects.requireNonNull(spec, "spec");
        return with(b -> {
            b.interfaceName = spec.interfaceName();
            b.dmabuf = spec.dmabuf();
            b.copyFallback = spec.copyFallback();
        });
    }

    /**
     * Opt-in (default off): when the kernel refuses bind-tx because the driver or kernel cannot do
     * devmem TX, and the dmabuf is host-mappable, send its host view as ordinary host memory
     * (MSG_ZEROCOPY without the devmem cmsg) instead of failing. Logged, counted, and visible on the
     * {@link TxBuffer}; any other refusal (EPERM, ENODEV) still fails the send.
     */
    public DevmemSender copyFallback(boolean enabled) {
        return with(b -> b.copyFallback = enabled);
    }

    /** The most bytes sent and not yet completed (default {@value Defaults#MAX_IN_FLIGHT_BYTES}). */
    public DevmemSender maxInFlightBytes(long bytes) {
        Args.atLeastOne("maxInFlightBytes", bytes);
        return with(b -> b.maxInFlightBytes = bytes);
    }

    /** I/O loop threads per subscription, when no {@link #loops shared loops} are set. */
    public DevmemSender ioThreads(int threads) {
        Args.atLeastOne("ioThreads", threads);
        return with(b -> b.ioThreads = threads);
    }

    /** Runs on these loops (shared with receivers, owned by the caller) instead of per-subscription ones. */
    public DevmemSender loops(DevmemLoops loops) {
        Args.sameBackend(loops, backend);
        return with(b -> b.loops = loops);
    }

    /** Records the {@code devmem.tx.*} {@link DevmemMeters} there. */
    public DevmemSender meterRegistry(MeterRegistry registry) {
        Objects.requireNonNull(registry, "registry");
        return with(b -> b.meterRegistry = registry);
    }

    /** The scheduler of the close grace timer (default {@code Schedulers.parallel()}). */
    public DevmemSender timer(Scheduler timer) {
        Objects.requireNonNull(timer, "timer");
        return with(b -> b.timer = timer);
    }

    /** After cancel or error, how long sends in flight may take to complete before the socket closes anyway. */
    public DevmemSender closeGracePeriod(Duration grace) {
        Args.notNegative("closeGracePeriod", Objects.requireNonNull(grace, "grace"));
        return with(b -> b.closeGracePeriod = grace);
    }

    // ------------------------------------------------------------------ getters

    public DevmemBackend backend() {
        return backend;
    }

    /** The meters' {@code name} tag: the one set, else the interface name, else {@code "default"}. */
    public String name() {
        return name != null ? name : interfaceName != null ? interfaceName : Defaults.NAME;
    }

    public String interfaceName() {
        return interfaceName;
    }

    public DmabufSource dmabuf() {
        return dmabuf;
    }

    public boolean copyFallback() {
        return copyFallback;
    }

    public long maxInFlightBytes() {
        return maxInFlightBytes;
    }

    public int ioThreads() {
        return ioThreads;
    }

    public DevmemLoops loops() {
        return loops;
    }

    public MeterRegistry meterRegistry() {
        return meterRegistry;
    }

    public Scheduler timer() {
        return timer;
    }

    public Duration closeGracePeriod() {
        return closeGracePeriod;
    }

    /** What subscribing binds. */
    public TxBindingSpec bindingSpec() {
        if (interfaceName == null || dmabuf == null) {
            throw new IllegalStateException("sending needs interfaceName and dmabuf; have interface " + interfaceName
                    + ", dmabuf " + dmabuf);
        }
        return new TxBindingSpec(interfaceName, dmabuf, copyFallback);
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
        bindingSpec(); // fail at assembly, not at subscription, when it is incomplete
        return Flux.usingWhen(acquire(remote),
                session -> session.run(slices),
                TxSession::close,
                (session, error) -> session.close(),
                TxSession::close);
    }

    /** The session, opened on a setup thread; never lost on cancel. */
    private Mono<TxSession> acquire(InetSocketAddress remote) {
        return Scope.openOnSetupThread(TxSession.class, () -> TxSession.open(this, remote), TxSession::close);
    }

    private DevmemSender with(java.util.function.Consumer<Builder> change) {
        Builder b = new Builder(this);
        change.accept(b);
        return new DevmemSender(b);
    }

    @Override
    public String toString() {
        return "DevmemSender{name=" + name() + ", backend=" + backend.name() + ", interface=" + interfaceName
                + ", dmabuf=" + dmabuf
                + ", copyFallback=" + copyFallback + ", maxInFlightBytes=" + maxInFlightBytes + ", ioThreads="
                + ioThreads + ", closeGracePeriod=" + closeGracePeriod + ", metrics=" + (meterRegistry != null) + '}';
    }

    private static final class Builder {
        DevmemBackend backend;
        String name;
        String interfaceName;
        DmabufSource dmabuf;
        boolean copyFallback;
        long maxInFlightBytes = Defaults.MAX_IN_FLIGHT_BYTES;
        int ioThreads = Defaults.IO_THREADS;
        DevmemLoops loops;
        MeterRegistry meterRegistry;
        Scheduler timer;
        Duration closeGracePeriod = Defaults.CLOSE_GRACE_PERIOD;

        Builder() {
        }

        Builder(DevmemSender s) {
            backend = s.backend;
            name = s.name;
            interfaceName = s.interfaceName;
            dmabuf = s.dmabuf;
            copyFallback = s.copyFallback;
            maxInFlightBytes = s.maxInFlightBytes;
            ioThreads = s.ioThreads;
            loops = s.loops;
            meterRegistry = s.meterRegistry;
            timer = s.timer;
            closeGracePeriod = s.closeGracePeriod;
        }
    }
}
