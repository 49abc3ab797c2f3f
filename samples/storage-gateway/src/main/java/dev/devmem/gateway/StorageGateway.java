package dev.devmem.gateway;

import dev.devmem.api.DmabufSource;
import dev.devmem.api.RxBindingSpec;
import dev.devmem.ffm.DevmemBackends;
import dev.devmem.ffm.emulated.EmulatedBackend;
import dev.devmem.ffm.emulated.EmulatedNicConfig;
import dev.devmem.gateway.http.ObjectHttpServer;
import dev.devmem.gateway.store.ObjectStore;
import dev.devmem.reactor.DevmemConnection;
import dev.devmem.reactor.DevmemReceiver;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * The storage gateway: a {@link DevmemReceiver} listening for flows on the emulated devmem NIC, one
 * {@link FlowWriter} per accepted flow storing it as one object, and an {@link ObjectHttpServer}
 * serving the objects back. Owns the backend it creates, the listen subscription, the writer threads
 * and the HTTP server; {@link #close()} releases them in reverse order.
 */
public final class StorageGateway implements AutoCloseable {
    private final GatewayConfig config;
    private final ObjectStore store;
    private final EmulatedBackend ownedBackend;
    private final GatewayStats stats = new GatewayStats();
    private final Sinks.Many<FlowResult> results = Sinks.many().replay().limit(4096);
    private final AtomicLong flowSeq = new AtomicLong();
    private final List<Writer> writers = new ArrayList<>();
    private final Consumer<String> log;
    private int budget;
    private Disposable listening;
    private InetSocketAddress flowAddress;
    private ObjectHttpServer http;

    private StorageGateway(GatewayConfig config, ObjectStore store, EmulatedBackend backend, Consumer<String> log) {
        this.config = config;
        this.store = store;
        this.ownedBackend = backend;
        this.log = log;
    }

    /**
     * Starts receiving on a new emulated devmem NIC (no hardware, no privilege) and serving HTTP.
     *
     * @param log receives one line per stored or failed flow
     */
    public static StorageGateway start(GatewayConfig config, ObjectStore store, Consumer<String> log) throws Exception {
        Objects.requireNonNull(store, "store");
        EmulatedNicConfig nic = EmulatedNicConfig.defaults().withFragSize(config.fragSize())
                .withHeaderSplitFailures(config.headerSplitFailures(), 42);
        EmulatedBackend backend = DevmemBackends.emulated(nic);
        StorageGateway g = new StorageGateway(config, store, backend, log);
        try {
            g.open(nic);
        } catch (Exception | Error e) {
            g.close();
            throw e;
        }
        return g;
    }

    private void open(EmulatedNicConfig nic) throws Exception {
        List<Integer> queues = new ArrayList<>();
        for (int q = 0; q < nic.rxQueues(); q++) {
            queues.add(q);
        }
        ListeningBackend backend = new ListeningBackend(ownedBackend);
        DevmemReceiver receiver = DevmemReceiver.create(backend)
                .binding(new RxBindingSpec(nic.interfaceName(), queues, DmabufSource.emulated(config.dmabufSize())))
                .fragSize(config.fragSize())
                .ioThreads(config.ioThreads());
        if (config.tokenBudget() > 0) {
            receiver = receiver.tokenBudget(config.tokenBudget());
        }
        int flowBudget = receiver.tokenBudget() > 0 ? receiver.tokenBudget()
                : derivedBudget(config.dmabufSize(), config.fragSize());
        budget = flowBudget;
        String durability = "fsync=" + config.sync().mode().name().toLowerCase(java.util.Locale.ROOT);
        Sinks.One<Throwable> listenError = Sinks.one();
        listening = receiver.listen(config.listen())
                .flatMap(c -> flow(c, flowBudget, durability), config.maxFlows())
                .subscribe(r -> { }, e -> {
                    listenError.tryEmitValue(e);
                    log.accept("gateway: the listener failed: " + e);
                });
        try {
            flowAddress = backend.listening().get(30, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw (Exception) e.getCause();
        } catch (java.util.concurrent.TimeoutException e) {
            Throwable t = listenError.asMono().block(java.time.Duration.ZERO);
            throw new IllegalStateException("the devmem listener did not start within 30 s", t);
        }
        if (config.http() != null) {
            http = ObjectHttpServer.start(store, config.http());
        }
    }

    /** The receiver's own default (DevmemReceiver#tokenBudget): the pool less a quarter, at least one DONTNEED batch. */
    static int derivedBudget(long dmabufSize, int fragSize) {
        int pool = (int) Math.min(Integer.MAX_VALUE, dmabufSize / fragSize);
        int headroom = Math.max(pool / 4, Math.min(1024, pool / 2));
        return Math.max(1, pool - headroom);
    }

    private Mono<FlowResult> flow(DevmemConnection c, int flowBudget, String durability) {
        InetSocketAddress peer = c.remoteAddress();
        String key = "flow-" + System.currentTimeMillis() + "-" + flowSeq.incrementAndGet() + "-" + peer.getPort();
        FlowWriter w = new FlowWriter(key, peer.getAddress().getHostAddress() + ":" + peer.getPort(), store,
                config.sync(), flowBudget, durability, stats);
        Thread t = Thread.ofPlatform().daemon().name("gateway-writer-" + key).start(w::run);
        synchronized (writers) {
            writers.removeIf(x -> !x.thread().isAlive());
            writers.add(new Writer(w, t));
        }
        c.receiveBatches().subscribe(w);
        return w.result()
                .flatMap(r -> c.onClose().thenReturn(r))
                .map(r -> withConnectionMax(r, c))
                .doOnNext(r -> {
                    log.accept(r.stored()
                            ? "gateway: stored " + r.key() + " (" + r.manifest().size() + " bytes, crc32c "
                            + r.manifest().crc32c() + ", " + r.manifest().syncs() + " syncs) from " + r.peer()
                            : "gateway: flow from " + r.peer() + " not stored: " + r.error());
                    results.emitNext(r, Sinks.EmitFailureHandler.busyLooping(java.time.Duration.ofSeconds(1)));
                });
    }

    /** The flow's own count, or the library's ledger high-water mark if that saw more. */
    private static FlowResult withConnectionMax(FlowResult r, DevmemConnection c) {
        long lib = c.stats().maxOutstanding();
        return lib > r.maxOutstanding()
                ? new FlowResult(r.key(), r.peer(), r.manifest(), r.error(), lib) : r;
    }

    private record Writer(FlowWriter writer, Thread thread) {
    }

    /** Where devmem flows connect. */
    public InetSocketAddress flowAddress() {
        return flowAddress;
    }

    /** Where objects are served, or null. */
    public InetSocketAddress httpAddress() {
        return http == null ? null : http.address();
    }

    public ObjectStore store() {
        return store;
    }

    public GatewayStats stats() {
        return stats;
    }

    /** Frags one flow may hold at most (the receiver's token budget). */
    public int flowTokenBudget() {
        return budget;
    }

    /** Every flow's outcome, as it ends (replayed to late subscribers, up to 4096). */
    public Flux<FlowResult> results() {
        return results.asFlux();
    }

    @Override
    public void close() {
        if (http != null) {
            http.close();
        }
        if (listening != null) {
            listening.dispose();
        }
        List<Writer> ws;
        synchronized (writers) {
            ws = new ArrayList<>(writers);
        }
        for (Writer w : ws) {
            w.writer().stop(); // an unfinished object is aborted: never half visible
        }
        for (Writer w : ws) {
            try {
                w.thread().join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        ownedBackend.close();
    }
}
