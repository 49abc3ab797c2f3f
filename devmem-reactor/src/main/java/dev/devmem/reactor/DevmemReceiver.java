package dev.devmem.reactor;

import dev.devmem.api.DevmemFrag;
import dev.devmem.api.RxBindingSpec;
import dev.devmem.api.spi.DevmemBackend;
import dev.devmem.reactor.loop.SetupThreads;
import dev.devmem.reactor.rx.Connection;
import dev.devmem.reactor.rx.Listen;
import dev.devmem.reactor.rx.ReleaseQueue;
import dev.devmem.reactor.rx.RxOptions;
import dev.devmem.reactor.rx.Scope;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

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
public final class DevmemReceiver extends DevmemTransport<DevmemReceiver> {

    /** The defaults, in one place. */
    public static final class Defaults {
        /** The meters' {@code name} tag when neither a name nor an interface is set. */
        public static final String NAME = TransportConfig.DEFAULT_NAME;
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
        public static final int RELEASE_FLUSH_MAX_AGE_FACTOR = ReleaseQueue.FLUSH_MAX_AGE_FACTOR;
        /** After termination, frags already delivered stay valid this long at most unless released. */
        public static final Duration CLOSE_GRACE_PERIOD = Duration.ofSeconds(2);

        private Defaults() {
        }
    }

    private final RxOptions options;

    private DevmemReceiver(TransportConfig transport, RxOptions options) {
        super(transport);
        this.options = options;
    }

    /** A receiver on {@code backend} with every default: no binding, no NIC setup, no metrics. */
    public static DevmemReceiver create(DevmemBackend backend) {
        Objects.requireNonNull(backend, "backend");
        return new DevmemReceiver(TransportConfig.of(backend, Defaults.IO_THREADS, Defaults.CLOSE_GRACE_PERIOD),
                new RxOptions(List.of(), Defaults.FRAG_SIZE, 0, 0, Defaults.BATCH_SIZE, Defaults.RELEASE_FLUSH_DELAY,
                        NicSetup.none(), Defaults.BACKLOG));
    }

    @Override
    DevmemReceiver withTransport(TransportConfig t) {
        return new DevmemReceiver(t, options);
    }

    private DevmemReceiver with(RxOptions o) {
        return new DevmemReceiver(transport, o);
    }

    // ------------------------------------------------------------------ options (the shared ones: DevmemTransport)

    /** The rx queues to bind (those the flows are steered to). */
    public DevmemReceiver rxQueues(Integer... queues) {
        Objects.requireNonNull(queues, "queues");
        List<Integer> q = List.copyOf(Arrays.asList(queues));
        if (q.isEmpty()) {
            throw new IllegalArgumentException("at least one rx queue");
        }
        return with(options.withRxQueues(q));
    }

    /** Binding, rx queues and dmabuf at once. */
    public DevmemReceiver binding(RxBindingSpec spec) {
        Objects.requireNonNull(spec, "spec");
        return new DevmemReceiver(transport.withInterfaceName(spec.interfaceName()).withDmabuf(spec.dmabuf()),
                options.withRxQueues(spec.rxQueues()));
    }

    /** Receive without binding (flows already steered to a queue bound elsewhere, or plain TCP). */
    public DevmemReceiver noBinding() {
        return new DevmemReceiver(transport.withInterfaceName(null).withDmabuf(null), options.withRxQueues(List.of()));
    }

    /** The frag size the default token budget is derived with (dmabuf size / frag size). */
    public DevmemReceiver fragSize(int bytes) {
        Args.atLeastOne("fragSize", bytes);
        return with(options.withFragSize(bytes));
    }

    /**
     * The most frags the connections of one subscription may hold outstanding together (delivered, not
     * yet released): the budget belongs to the binding, whose dmabuf pool it protects, and is shared by
     * all the connections of a {@link #listen}. Reading stops at the budget. It may not exceed what the
     * dmabuf holds (dmabuf size / frag size). Default: that pool less a quarter (and at least one
     * DONTNEED batch) of headroom; 1024 without a binding. See {@link #connectionTokenLimit} to keep
     * one connection from holding all of it.
     */
    public DevmemReceiver tokenBudget(int frags) {
        Args.atLeastOne("tokenBudget", frags);
        return with(options.withTokenBudget(frags));
    }

    /**
     * Optional fairness limit: the most frags one connection may hold outstanding, within the shared
     * {@link #tokenBudget} (a larger value is capped by it). Default: none, a connection may use the
     * whole budget.
     */
    public DevmemReceiver connectionTokenLimit(int frags) {
        Args.atLeastOne("connectionTokenLimit", frags);
        return with(options.withConnectionLimit(frags));
    }

    /** The most frags one recvmsg may return. */
    public DevmemReceiver batchSize(int frags) {
        if (frags < 1 || frags > 65536) {
            throw new IllegalArgumentException("batchSize must be in [1, 65536], was " + frags);
        }
        return with(options.withBatchSize(frags));
    }

    /**
     * Release batching: a steady stream of releases goes back to the kernel in full DONTNEED batches;
     * once releases pause for {@code delay}, the rest is flushed, and no released token waits longer
     * than {@link Defaults#RELEASE_FLUSH_MAX_AGE_FACTOR} delays. Zero flushes at every loop pass that
     * released something (many more DONTNEED calls).
     */
    public DevmemReceiver releaseFlushDelay(Duration delay) {
        Args.notNegative("releaseFlushDelay", Objects.requireNonNull(delay, "delay"));
        return with(options.withReleaseFlushDelay(delay));
    }

    /** NIC preparation applied before binding and undone after it (default: none). */
    public DevmemReceiver nicSetup(NicSetup setup) {
        Objects.requireNonNull(setup, "setup");
        return with(options.withNicSetup(setup));
    }

    /**
     * The listen backlog: connections the kernel accepted that wait for an accept, which the receiver
     * makes only on demand (default {@value Defaults#BACKLOG}).
     */
    public DevmemReceiver backlog(int backlog) {
        Args.atLeastOne("backlog", backlog);
        return with(options.withBacklog(backlog));
    }

    // ------------------------------------------------------------------ getters

    public List<Integer> rxQueues() {
        return options.rxQueues();
    }

    public int fragSize() {
        return options.fragSize();
    }

    /** The configured budget, or 0 when it is derived at subscription from the binding. */
    public int tokenBudget() {
        return options.tokenBudget();
    }

    /** The per-connection limit, or 0 for none (the whole shared budget). */
    public int connectionTokenLimit() {
        return options.connectionLimit();
    }

    public int batchSize() {
        return options.batchSize();
    }

    public Duration releaseFlushDelay() {
        return options.releaseFlushDelay();
    }

    public NicSetup nicSetup() {
        return options.nicSetup();
    }

    public int backlog() {
        return options.backlog();
    }

    /** What subscribing binds, or {@code null} when nothing is configured to bind. */
    public RxBindingSpec bindingSpec() {
        return options.bindingSpec(transport.interfaceName(), transport.dmabuf());
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
                    c.register();
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
        return SetupThreads.open(Scope.class,
                () -> Scope.open(transport.resources(), options, bindingSpec(), local, remote, opener),
                s -> s.releaseRoot(true, new java.util.concurrent.CancellationException("cancelled while opening")));
    }

    @Override
    public String toString() {
        return "DevmemReceiver{" + transport + ", queues=" + options.rxQueues() + ", fragSize=" + options.fragSize()
                + ", tokenBudget=" + (options.tokenBudget() == 0 ? "derived" : options.tokenBudget())
                + ", connectionTokenLimit=" + (options.connectionLimit() == 0 ? "none" : options.connectionLimit())
                + ", batchSize="
                + options.batchSize() + ", releaseFlushDelay=" + options.releaseFlushDelay() + ", nicSetup="
                + options.nicSetup() + '}';
    }
}
