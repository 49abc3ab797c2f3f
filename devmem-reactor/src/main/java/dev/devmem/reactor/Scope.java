package dev.devmem.reactor;

import dev.devmem.api.DevmemException;
import dev.devmem.api.RxBindingSpec;
import dev.devmem.api.spi.DevmemBackend;
import dev.devmem.api.spi.DevmemListener;
import dev.devmem.api.spi.DevmemSocket;
import dev.devmem.api.spi.RxBinding;
import dev.devmem.ffm.sys.NetnsAffinity;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;
import reactor.util.Logger;
import reactor.util.Loggers;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * What one receiver subscription holds, acquired in order and released in reverse: the I/O loops
 * (when not shared), the NIC setup, the rx binding, and the listener or connected socket.
 *
 * <p>Reference-counted: the subscription holds one reference (the root), a listener channel one, each
 * connection one. Dropping the root closes the connections nobody subscribed to; the binding is
 * closed and the NIC setup undone when the last reference goes, so a binding never disappears under
 * a socket that still receives through it. Teardown runs once, on the setup thread.
 */
final class Scope {
    private static final Logger log = Loggers.getLogger(Scope.class);
    /** Blocking setup and teardown (netlink, ethtool, connect) never runs on a Reactor or I/O thread. */
    static final ExecutorService SETUP = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "devmem-setup-" + SetupThreads.NEXT.incrementAndGet());
        t.setDaemon(true);
        return t;
    });

    private static final class SetupThreads {
        static final AtomicInteger NEXT = new AtomicInteger();
    }

    /**
     * What {@code open} returns, opened on a setup thread in the subscriber's network namespace
     * (sockets belong to the namespace of the thread that creates them). If the subscriber cancels
     * while it is being opened, {@code release} gets it as soon as it is open: it is never lost.
     */
    static <T> Mono<T> openOnSetupThread(Class<T> type, Callable<? extends T> open, Consumer<? super T> release) {
        return Mono.<T>create(sink -> {
            AtomicInteger state = new AtomicInteger(); // 0 opening, 1 cancelled, 2 handed over
            sink.onCancel(() -> state.compareAndSet(0, 1));
            NetnsAffinity netns;
            try {
                netns = NetnsAffinity.ofCurrentThread();
            } catch (Throwable t) {
                sink.error(t);
                return;
            }
            SETUP.execute(() -> {
                T opened;
                try (netns) {
                    netns.enter();
                    opened = open.call();
                } catch (Throwable t) {
                    sink.error(t);
                    return;
                }
                if (state.compareAndSet(0, 2)) {
                    sink.success(opened);
                } else {
                    release.accept(opened);
                }
            });
        }).doOnDiscard(type, release);
    }

    /** Budget when nothing is bound (host frags only): frags, i.e. host slab slices, held at once. */
    static final int UNBOUND_BUDGET = 1024;

    final DevmemReceiver config;
    final Metrics metrics;
    final Scheduler timer;
    final int batchSize;
    int budget;
    DevmemLoops loops;
    private boolean ownsLoops;
    private NicSetup.Undo undo;
    private RxBinding binding;
    private volatile DevmemListener listener;
    private DevmemSocket connected;
    private final AtomicInteger refs = new AtomicInteger(1);
    private final AtomicBoolean rootReleased = new AtomicBoolean();
    private final Set<Connection> connections = ConcurrentHashMap.newKeySet();
    private final Sinks.Empty<Void> closed = Sinks.empty();

    private Scope(DevmemReceiver config) {
        this.config = config;
        this.metrics = Metrics.of(config.meterRegistry(), config.name());
        this.timer = config.timer() != null ? config.timer() : Schedulers.parallel();
        this.batchSize = config.batchSize();
    }

    /**
     * Blocking: acquires everything for a listener on {@code local} or a connection to {@code remote}.
     * On failure, releases what it had acquired, in reverse, and rethrows.
     */
    static Scope open(DevmemReceiver config, InetSocketAddress local, InetSocketAddress remote,
                      java.util.concurrent.Callable<? extends DevmemSocket> opener) throws Exception {
        Scope s = new Scope(config);
        DevmemBackend backend = config.backend();
        try {
            s.loops = config.loops();
            if (s.loops == null) {
                s.loops = DevmemLoops.create(backend, config.ioThreads());
                s.ownsLoops = true;
            } else if (s.loops.backend() != backend) {
                throw new IllegalArgumentException("the loops serve backend " + s.loops.backend().name()
                        + ", the receiver uses " + backend.name());
            }
            RxBindingSpec spec = config.bindingSpec();
            s.undo = config.nicSetup().apply(new NicSetup.Target(
                    spec == null ? null : spec.interfaceName(), spec == null ? List.of() : spec.rxQueues(),
                    local, remote));
            if (spec != null) {
                s.binding = backend.bindRx(spec);
                s.metrics.bindings(1);
            }
            s.budget = budget(config, s.binding);
            if (local != null) {
                s.listener = backend.listen(local, config.backlog());
            } else if (remote != null) {
                s.connected = backend.connect(remote);
            } else {
                s.connected = java.util.Objects.requireNonNull(opener.call(), "the socket opener returned null");
            }
            return s;
        } catch (Throwable t) {
            s.teardown();
            throw t;
        }
    }

    static int budget(DevmemReceiver config, RxBinding binding) {
        long pool = binding == null ? 0 : binding.dmabufSize() / config.fragSize();
        int asked = config.tokenBudget();
        if (asked > 0) {
            if (pool > 0 && asked > pool) {
                throw new IllegalArgumentException("token budget " + asked + " exceeds the " + pool
                        + " frags the dmabuf holds (" + binding.dmabufSize() + " bytes / frag size "
                        + config.fragSize() + ")");
            }
            return asked;
        }
        if (pool <= 0) {
            return UNBOUND_BUDGET;
        }
        return defaultBudget((int) Math.min(Integer.MAX_VALUE, pool));
    }

    /**
     * The dmabuf's frags minus headroom: a quarter of the pool, and at least one kernel DONTNEED batch
     * (1024 frags, or half the pool when it is smaller), for frags queued for return, other sockets on
     * the queue and the NIC's refill.
     */
    static int defaultBudget(int pool) {
        int headroom = Math.max(pool / 4, Math.min(1024, pool / 2));
        return Math.max(1, pool - headroom);
    }

    RxBinding binding() {
        return binding;
    }

    /** The listener, once, for the channel that will poll it. */
    DevmemListener takeListener() {
        DevmemListener l = listener;
        listener = null;
        return l;
    }

    DevmemSocket takeConnected() {
        DevmemSocket s = connected;
        connected = null;
        return s;
    }

    /** Takes a reference for a listener channel; false when the scope is already torn down. */
    boolean retain() {
        while (true) {
            int r = refs.get();
            if (r == 0) {
                return false;
            }
            if (refs.compareAndSet(r, r + 1)) {
                return true;
            }
        }
    }

    /** A connection for {@code socket} on the next loop, holding a reference; null (socket closed) if torn down. */
    Connection newConnection(DevmemSocket socket) {
        if (!retain()) {
            socket.close();
            return null;
        }
        Connection c = new Connection(socket, this, loops.next());
        connections.add(c);
        if (rootReleased.get() && connections.remove(c)) {
            // raced with the end of the subscription: it will not be emitted
            c.closeIfUnsubscribed(new IllegalStateException("receiver subscription ended"));
            c.loop.register(c);
            return null;
        }
        return c;
    }

    void connectionClosed(Connection c) {
        connections.remove(c);
        release();
    }

    void release() {
        if (refs.decrementAndGet() == 0) {
            SETUP.execute(this::teardown);
        }
    }

    /**
     * The subscription ended. With {@code closeConnections}, connections nobody subscribed to are
     * closed; subscribed ones keep the scope (and the binding) until their receive ends. Idempotent.
     */
    void releaseRoot(boolean closeConnections, Throwable cause) {
        if (rootReleased.compareAndSet(false, true)) {
            if (closeConnections) {
                for (Connection c : connections) {
                    c.closeIfUnsubscribed(cause);
                }
            }
            release();
        }
    }

    Mono<Void> onClose() {
        return closed.asMono();
    }

    private void teardown() {
        DevmemListener l = takeListener();
        if (l != null) {
            close("listener", l::close);
        }
        DevmemSocket s = takeConnected();
        if (s != null) {
            close("socket", s::close);
        }
        if (binding != null) {
            close("rx binding", binding::close);
            metrics.bindings(-1);
            binding = null;
        }
        if (undo != null) {
            NicSetup.Undo u = undo;
            undo = null;
            close("NIC setup", () -> {
                try {
                    u.undo();
                } catch (DevmemException e) {
                    throw new RuntimeException(e);
                }
            });
        }
        if (ownsLoops && loops != null) {
            loops.dispose();
        }
        closed.tryEmitEmpty();
    }

    private static void close(String what, Runnable r) {
        try {
            r.run();
        } catch (RuntimeException e) {
            log.warn("devmem: closing the {} failed", what, e);
        }
    }
}
