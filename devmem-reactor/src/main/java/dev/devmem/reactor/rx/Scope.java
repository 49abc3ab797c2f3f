package dev.devmem.reactor.rx;

import dev.devmem.api.DevmemException;
import dev.devmem.api.RxBindingSpec;
import dev.devmem.api.spi.DevmemBackend;
import dev.devmem.api.spi.DevmemListener;
import dev.devmem.api.spi.DevmemSocket;
import dev.devmem.api.spi.RxBinding;
import dev.devmem.reactor.NicSetup;
import dev.devmem.reactor.loop.LoopGroup;
import dev.devmem.reactor.loop.SetupThreads;
import dev.devmem.reactor.loop.TransportResources;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.util.Logger;
import reactor.util.Loggers;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What one receiver subscription holds, acquired in order and released in reverse: the I/O loops
 * (when not shared), the NIC setup, the rx binding, and the listener or connected socket.
 *
 * <p>Reference-counted: the subscription holds one reference (the root), a listener channel one, each
 * connection one. Dropping the root closes the connections nobody subscribed to; the binding is
 * closed and the NIC setup undone when the last reference goes, so a binding never disappears under
 * a socket that still receives through it. Teardown runs once, on the setup thread.
 */
public final class Scope {
    private static final Logger log = Loggers.getLogger(Scope.class);
    /** Budget when nothing is bound (host frags only): frags, i.e. host slab slices, held at once. */
    static final int UNBOUND_BUDGET = 1024;

    private final TransportResources resources;
    private final RxOptions options;
    final Metrics metrics;
    int budget;
    /** The budget as credit, shared by every connection of this scope (of its binding). */
    TokenCredit credit;
    /** What every connection of this scope runs with; set once the budget is known. */
    RxSettings settings;
    LoopGroup loops;
    private NicSetup.Undo undo;
    private RxBinding binding;
    private volatile DevmemListener listener;
    private DevmemSocket connected;
    private final AtomicInteger refs = new AtomicInteger(1);
    private final AtomicBoolean rootReleased = new AtomicBoolean();
    private final Set<Connection> connections = ConcurrentHashMap.newKeySet();
    private final Sinks.Empty<Void> closed = Sinks.empty();

    private Scope(TransportResources resources, RxOptions options) {
        this.resources = resources;
        this.options = options;
        this.metrics = Metrics.of(resources.meterRegistry(), resources.name());
    }

    /**
     * Blocking: acquires everything for a listener on {@code local} or a connection to {@code remote}
     * (or the socket {@code opener} gives), binding {@code spec} unless it is {@code null}. On failure,
     * releases what it had acquired, in reverse, and rethrows.
     */
    public static Scope open(TransportResources resources, RxOptions options, RxBindingSpec spec,
                             InetSocketAddress local, InetSocketAddress remote, Callable<? extends DevmemSocket> opener)
            throws Exception {
        Scope s = new Scope(resources, options);
        DevmemBackend backend = resources.backend();
        try {
            s.loops = s.resources.acquireLoops();
            s.undo = options.nicSetup().apply(new NicSetup.Target(
                    spec == null ? null : spec.interfaceName(), spec == null ? List.of() : spec.rxQueues(),
                    local, remote));
            if (spec != null) {
                s.binding = backend.bindRx(spec);
                s.metrics.bindings(1);
            }
            s.budget = budget(options, s.binding);
            s.credit = new TokenCredit(s.budget);
            int perConnection = options.connectionLimit() > 0 ? Math.min(options.connectionLimit(), s.budget) : s.budget;
            s.settings = new RxSettings(s.credit, perConnection, options.batchSize(), options.releaseFlushDelay().toNanos(),
                    resources.graceNanos(), resources.timer(), s.metrics);
            if (local != null) {
                s.listener = backend.listen(local, options.backlog());
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

    static int budget(RxOptions config, RxBinding binding) {
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
    public static int defaultBudget(int pool) {
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

    public DevmemSocket takeConnected() {
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
    public Connection newConnection(DevmemSocket socket) {
        if (!retain()) {
            socket.close();
            return null;
        }
        Connection c = new Connection(socket, settings, loops.next(), this::connectionClosed);
        connections.add(c);
        if (rootReleased.get() && connections.remove(c)) {
            // raced with the end of the subscription: it will not be emitted
            c.closeIfUnsubscribed(new IllegalStateException("receiver subscription ended"));
            c.register();
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
            SetupThreads.execute(this::teardown);
        }
    }

    /**
     * The subscription ended. With {@code closeConnections}, connections nobody subscribed to are
     * closed; subscribed ones keep the scope (and the binding) until their receive ends. Idempotent.
     */
    public void releaseRoot(boolean closeConnections, Throwable cause) {
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
        resources.releaseLoops();
        closed.tryEmitEmpty();
    }

    private static void close(String what, Runnable r) {
        TransportResources.close(log, what, r);
    }
}
