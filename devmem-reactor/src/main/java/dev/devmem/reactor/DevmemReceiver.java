package dev.devmem.reactor;

import dev.devmem.api.DevmemFrag;
import dev.devmem.api.DmabufSource;
import dev.devmem.api.RxBindingSpec;
import dev.devmem.api.spi.DevmemBackend;
import io.micrometer.core.instrument.MeterRegistry;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;

/**
 * Receives devmem TCP as Reactor streams. An immutable configuration in the style of reactor-netty's
 * {@code TcpServer}: every {@code with}-style setter checks its argument, copies the configuration and
 * returns the copy; defaults live in {@link Defaults}.
 *
 * <pre>{@code
 * DevmemReceiver receiver = DevmemReceiver.create(backend)
 *         .interfaceName("eth1").rxQueues(15).dmabuf(DmabufSource.udmabuf(64 << 20))
 *         .meterRegistry(registry);
 * receiver.receiveOne(new InetSocketAddress(5201))
 *         .doOnNext(frag -> { consume(frag); frag.release(); })
 *         .blockLast();
 * }</pre>
 *
 * <p>Nothing happens until a subscription. Subscribing acquires, in order, the {@linkplain #nicSetup
 * NIC setup}, the rx binding (when {@linkplain #interfaceName an interface} is configured) and the
 * listener or connected socket, on a setup thread (never a Reactor or I/O thread, as binding and
 * connecting block). Cancel, complete and error release all of it in reverse order, once: sockets are
 * closed (the kernel takes back every token still outstanding), then the binding, then the NIC setup.
 *
 * <p>The library owns read pacing: reading happens only with downstream demand and token credit, and
 * no option can bypass the {@linkplain #tokenBudget token budget}.
 */
public final class DevmemReceiver {

    /** The defaults, in one place. */
    public static final class Defaults {
        /** The meters' {@code name} tag when neither a name nor an interface is set. */
        public static final String NAME = "default";
        /** Frag size used to derive the token budget from the dmabuf size: a page, the largest devmem frag. */
        public static final int FRAG_SIZE = 4096;
        /** At most this many frags per recvmsg. */
        public static final int BATCH_SIZE = 256;
        public static final int IO_THREADS = 1;
        public static final int BACKLOG = 128;
        /**
         * Once releases pause this long, the released tokens not yet sent in a full DONTNEED batch are
         * flushed. While releases keep coming, full batches go out as they fill.
         */
        public static final Duration RELEASE_FLUSH_DELAY = Duration.ofMillis(5);
        /** A released token waits at most this many flush delays, even while releases keep coming. */
        public static final int RELEASE_FLUSH_MAX_AGE_FACTOR = 50;
        /** After termination, frags already delivered stay valid this long at most unless released. */
        public static final Duration CLOSE_GRACE_PERIOD = Duration.ofSeconds(2);

        private Defaults() {
        }
    }

    private final DevmemBackend backend;
    private final String name;
    private final String interfaceName;
    private final List<Integer> rxQueues;
    private final DmabufSource dmabuf;
    private final int fragSize;
    private final int tokenBudget;
    private final int batchSize;
    private final int ioThreads;
    private final DevmemLoops loops;
    private final Duration releaseFlushDelay;
    private final Duration closeGracePeriod;
    private final MeterRegistry meterRegistry;
    private final Scheduler timer;
    private final NicSetup nicSetup;
    private final int backlog;

    private DevmemReceiver(Builder b) {
        backend = b.backend;
        name = b.name;
        interfaceName = b.interfaceName;
        rxQueues = b.rxQueues;
        dmabuf = b.dmabuf;
        fragSize = b.fragSize;
        tokenBudget = b.tokenBudget;
        batchSize = b.batchSize;
        ioThreads = b.ioThreads;
        loops = b.loops;
        releaseFlushDelay = b.releaseFlushDelay;
        closeGracePeriod = b.closeGracePeriod;
        meterRegistry = b.meterRegistry;
        timer = b.timer;
        nicSetup = b.nicSetup;
        backlog = b.backlog;
    }

    /** A receiver on {@code backend} with every default: no binding, no NIC setup, no metrics. */
    public static DevmemReceiver create(DevmemBackend backend) {
        Builder b = new Builder();
        b.backend = Objects.requireNonNull(backend, "backend");
        return new DevmemReceiver(b);
    }

    // ------------------------------------------------------------------ options

    /**
     * The value of the {@code name} tag on every meter this receiver records, so several in one registry
     * are told apart. Low cardinality: a fixed name per configured receiver, never per connection or
     * address. Default: the {@linkplain #interfaceName interface name}, or {@code "default"} when none is set.
     */
    public DevmemReceiver name(String name) {
        Args.notBlank("name", name);
        return with(b -> b.name = name);
    }

    /** The netdev to bind rx queues of; with {@link #dmabuf} and {@link #rxQueues}, subscribing binds. */
    public DevmemReceiver interfaceName(String interfaceName) {
        Args.notBlank("interfaceName", interfaceName);
        return with(b -> b.interfaceName = interfaceName);
    }

    /** The rx queues to bind (those the flows are steered to). */
    public DevmemReceiver rxQueues(Integer... queues) {
        Objects.requireNonNull(queues, "queues");
        List<Integer> q = List.copyOf(Arrays.asList(queues));
        if (q.isEmpty()) {
            throw new IllegalArgumentException("at least one rx queue");
        }
        return with(b -> b.rxQueues = q);
    }

    /** The device memory to bind. */
    public DevmemReceiver dmabuf(DmabufSource dmabuf) {
        Objects.requireNonNull(dmabuf, "dmabuf");
        return with(b -> b.dmabuf = dmabuf);
    }

    /** Binding, rx queues and dmabuf at once. */
    public DevmemReceiver binding(RxBindingSpec spec) {
        Objects.requireNonNull(spec, "spec");
        return with(b -> {
            b.interfaceName = spec.interfaceName();
            b.rxQueues = spec.rxQueues();
            b.dmabuf = spec.dmabuf();
        });
    }

    /** Receive without binding (flows already steered to a queue bound elsewhere, or plain TCP). */
    public DevmemReceiver noBinding() {
        return with(b -> {
            b.interfaceName = null;
            b.rxQueues = List.of();
            b.dmabuf = null;
        });
    }

    /** The frag size the default token budget is derived with (dmabuf size / frag size). */
    public DevmemReceiver fragSize(int bytes) {
        Args.atLeastOne("fragSize", bytes);
        return with(b -> b.fragSize = bytes);
    }

    /**
     * The most frags a connection may hold outstanding (delivered, not yet released). Reading stops
     * at the budget. It may not exceed what the dmabuf holds (dmabuf size / frag size). Default: that
     * pool less a quarter (and at least one DONTNEED batch) of headroom; 1024 without a binding.
     */
    public DevmemReceiver tokenBudget(int frags) {
        Args.atLeastOne("tokenBudget", frags);
        return with(b -> b.tokenBudget = frags);
    }

    /** The most frags one recvmsg may return. */
    public DevmemReceiver batchSize(int frags) {
        if (frags < 1 || frags > 65536) {
            throw new IllegalArgumentException("batchSize must be in [1, 65536], was " + frags);
        }
        return with(b -> b.batchSize = frags);
    }

    /** I/O loop threads per subscription, when no {@link #loops shared loops} are set. */
    public DevmemReceiver ioThreads(int threads) {
        Args.atLeastOne("ioThreads", threads);
        return with(b -> b.ioThreads = threads);
    }

    /** Runs connections on these loops (shared, owned by the caller) instead of per-subscription ones. */
    public DevmemReceiver loops(DevmemLoops loops) {
        Args.sameBackend(loops, backend);
        return with(b -> b.loops = loops);
    }

    /**
     * Release batching: a steady stream of releases goes back to the kernel in full DONTNEED batches;
     * once releases pause for {@code delay}, the rest is flushed, and no released token waits longer
     * than {@link Defaults#RELEASE_FLUSH_MAX_AGE_FACTOR} delays. Zero flushes at every loop pass that
     * released something (many more DONTNEED calls).
     */
    public DevmemReceiver releaseFlushDelay(Duration delay) {
        Args.notNegative("releaseFlushDelay", Objects.requireNonNull(delay, "delay"));
        return with(b -> b.releaseFlushDelay = delay);
    }

    /**
     * After a receive terminates, how long frags already delivered stay valid while unreleased. The
     * socket closes as soon as every frag is released, or when this period ends (then the kernel
     * reclaims what is left, counted as reclaimed).
     */
    public DevmemReceiver closeGracePeriod(Duration grace) {
        Args.notNegative("closeGracePeriod", Objects.requireNonNull(grace, "grace"));
        return with(b -> b.closeGracePeriod = grace);
    }

    /** Records {@link DevmemMeters} there. */
    public DevmemReceiver meterRegistry(MeterRegistry registry) {
        Objects.requireNonNull(registry, "registry");
        return with(b -> b.meterRegistry = registry);
    }

    /**
     * The scheduler for the release-flush and grace timers (default {@code Schedulers.parallel()}).
     * Timer tasks only set a flag and wake the loop; tests pass a virtual-time scheduler.
     */
    public DevmemReceiver timer(Scheduler timer) {
        Objects.requireNonNull(timer, "timer");
        return with(b -> b.timer = timer);
    }

    /** NIC preparation applied before binding and undone after it (default: none). */
    public DevmemReceiver nicSetup(NicSetup setup) {
        Objects.requireNonNull(setup, "setup");
        return with(b -> b.nicSetup = setup);
    }

    /**
     * The listen backlog: connections the kernel accepted that wait for an accept, which the receiver
     * makes only on demand (default {@value Defaults#BACKLOG}).
     */
    public DevmemReceiver backlog(int backlog) {
        Args.atLeastOne("backlog", backlog);
        return with(b -> b.backlog = backlog);
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

    public List<Integer> rxQueues() {
        return rxQueues;
    }

    public DmabufSource dmabuf() {
        return dmabuf;
    }

    public int fragSize() {
        return fragSize;
    }

    /** The configured budget, or 0 when it is derived at subscription from the binding. */
    public int tokenBudget() {
        return tokenBudget;
    }

    public int batchSize() {
        return batchSize;
    }

    public int ioThreads() {
        return ioThreads;
    }

    public DevmemLoops loops() {
        return loops;
    }

    public Duration releaseFlushDelay() {
        return releaseFlushDelay;
    }

    public Duration closeGracePeriod() {
        return closeGracePeriod;
    }

    public MeterRegistry meterRegistry() {
        return meterRegistry;
    }

    public Scheduler timer() {
        return timer;
    }

    public NicSetup nicSetup() {
        return nicSetup;
    }

    public int backlog() {
        return backlog;
    }

    /** What subscribing binds, or {@code null} when nothing is configured to bind. */
    public RxBindingSpec bindingSpec() {
        if (interfaceName == null && dmabuf == null && rxQueues.isEmpty()) {
            return null;
        }
        if (interfaceName == null || dmabuf == null || rxQueues.isEmpty()) {
            throw new IllegalStateException("binding needs interfaceName, rxQueues and dmabuf; have interface "
                    + interfaceName + ", queues " + rxQueues + ", dmabuf " + dmabuf);
        }
        return new RxBindingSpec(interfaceName, rxQueues, dmabuf);
    }

    // ------------------------------------------------------------------ streams

    /**
     * Listens on {@code local} and emits each accepted connection (one accept per unit of demand;
     * connections beyond the demand wait in the kernel's backlog). When this subscription ends the
     * listener is closed at once, and so are emitted connections nobody subscribed to; connections
     * being received keep the binding until their receive ends (so {@code listen(a).take(1)} is
     * fine). The binding and then the NIC setup are released after the last of them.
     */
    public Flux<DevmemConnection> listen(InetSocketAddress local) {
        Objects.requireNonNull(local, "local");
        return Flux.usingWhen(acquire(local, null, null),
                scope -> new Listen(scope, Long.MAX_VALUE),
                scope -> end(scope),
                (scope, error) -> end(scope),
                scope -> end(scope));
    }

    /**
     * Connects to {@code remote} (after the NIC setup and the binding) and emits the connection. The
     * connection holds the binding until it closes: when its receive terminates and its frags are
     * released, or when it is {@linkplain DevmemConnection#dispose() disposed}.
     */
    public Mono<DevmemConnection> connect(InetSocketAddress remote) {
        Objects.requireNonNull(remote, "remote");
        return connection(acquire(null, remote, null));
    }

    /**
     * Receives on a socket that {@code opener} provides (called on the setup thread after the NIC
     * setup and the binding): a socket handed over by another process or component (binding and
     * receiving kept separable), or a backend-specific one such as the emulated NIC's synthetic
     * socket. The socket must belong to this receiver's backend; the connection owns it from then on.
     */
    public Mono<DevmemConnection> open(java.util.concurrent.Callable<? extends dev.devmem.api.spi.DevmemSocket> opener) {
        Objects.requireNonNull(opener, "opener");
        return connection(acquire(null, null, opener));
    }

    private static Mono<DevmemConnection> connection(Mono<Scope> opening) {
        return opening
                .map(scope -> {
                    Connection c = scope.newConnection(scope.takeConnected());
                    c.loop.register(c);
                    scope.releaseRoot(false, null);
                    return (DevmemConnection) c;
                })
                .doOnDiscard(DevmemConnection.class, DevmemConnection::dispose);
    }

    /**
     * The common case in one call: bind, accept one connection on {@code local}, stream its frags.
     * Everything (NIC setup, binding, listener, socket) belongs to this one subscription.
     */
    public Flux<DevmemFrag> receiveOne(InetSocketAddress local) {
        return receiveOne(local, Connection.identity());
    }

    /**
     * {@link #receiveOne(InetSocketAddress)} through {@code handler}, with the frag-releasing discard
     * hook in the context of the handler's operators (see {@link DevmemConnection#receive(Function)}).
     */
    public <T> Flux<T> receiveOne(InetSocketAddress local,
                                  Function<? super Flux<DevmemFrag>, ? extends Publisher<T>> handler) {
        Objects.requireNonNull(local, "local");
        Objects.requireNonNull(handler, "handler");
        return Flux.usingWhen(acquire(local, null, null),
                scope -> new Listen(scope, 1).concatMap(c -> c.receive(handler)),
                scope -> end(scope),
                (scope, error) -> end(scope),
                scope -> end(scope));
    }

    private static Mono<Void> end(Scope scope) {
        return Mono.fromRunnable(() -> scope.releaseRoot(true,
                new java.util.concurrent.CancellationException("the devmem receiver subscription ended")));
    }

    /** The scope, opened on a setup thread; never lost on cancel. */
    private Mono<Scope> acquire(InetSocketAddress local, InetSocketAddress remote,
                                java.util.concurrent.Callable<? extends dev.devmem.api.spi.DevmemSocket> opener) {
        return Scope.openOnSetupThread(Scope.class, () -> Scope.open(this, local, remote, opener),
                s -> s.releaseRoot(true, new java.util.concurrent.CancellationException("cancelled while opening")));
    }

    private DevmemReceiver with(java.util.function.Consumer<Builder> change) {
        Builder b = new Builder(this);
        change.accept(b);
        return new DevmemReceiver(b);
    }

    @Override
    public String toString() {
        return "DevmemReceiver{name=" + name() + ", backend=" + backend.name() + ", interface=" + interfaceName
                + ", queues=" + rxQueues
                + ", dmabuf=" + dmabuf + ", fragSize=" + fragSize + ", tokenBudget="
                + (tokenBudget == 0 ? "derived" : tokenBudget) + ", batchSize=" + batchSize + ", ioThreads="
                + ioThreads + ", releaseFlushDelay=" + releaseFlushDelay + ", closeGracePeriod=" + closeGracePeriod
                + ", metrics=" + (meterRegistry != null) + ", nicSetup=" + nicSetup + '}';
    }

    private static final class Builder {
        DevmemBackend backend;
        String name;
        String interfaceName;
        List<Integer> rxQueues = List.of();
        DmabufSource dmabuf;
        int fragSize = Defaults.FRAG_SIZE;
        int tokenBudget;
        int batchSize = Defaults.BATCH_SIZE;
        int ioThreads = Defaults.IO_THREADS;
        DevmemLoops loops;
        Duration releaseFlushDelay = Defaults.RELEASE_FLUSH_DELAY;
        Duration closeGracePeriod = Defaults.CLOSE_GRACE_PERIOD;
        MeterRegistry meterRegistry;
        Scheduler timer;
        NicSetup nicSetup = NicSetup.none();
        int backlog = Defaults.BACKLOG;

        Builder() {
        }

        Builder(DevmemReceiver r) {
            backend = r.backend;
            name = r.name;
            interfaceName = r.interfaceName;
            rxQueues = r.rxQueues;
            dmabuf = r.dmabuf;
            fragSize = r.fragSize;
            tokenBudget = r.tokenBudget;
            batchSize = r.batchSize;
            ioThreads = r.ioThreads;
            loops = r.loops;
            releaseFlushDelay = r.releaseFlushDelay;
            closeGracePeriod = r.closeGracePeriod;
            meterRegistry = r.meterRegistry;
            timer = r.timer;
            nicSetup = r.nicSetup;
            backlog = r.backlog;
        }
    }
}
