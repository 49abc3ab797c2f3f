package dev.devmem.spring.boot;

import dev.devmem.reactor.ConnectionStats;
import dev.devmem.reactor.DevmemConnection;
import dev.devmem.reactor.DevmemReceiver;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.springframework.context.SmartLifecycle;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Accepts devmem connections with the {@link DevmemReceiver} bean while the application runs, and
 * hands each to the application's {@link DevmemConnectionHandler}, at most
 * {@code devmem.listener.max-connections} at once (the listener accepts only with demand; the rest wait
 * in the kernel's backlog).
 *
 * <p>A {@link SmartLifecycle}: {@link #start()} subscribes once the context is refreshed; {@link #stop()}
 * runs when the context closes, before any bean is destroyed, and drains:
 * <ol>
 * <li>the listener closes (no new connections);</li>
 * <li>each connection is disposed: the library stops reading at once and signals nothing more, while the
 *     frags already received stay valid, so the handler processes and releases what it still queues;</li>
 * <li>once a connection has every frag back, the library closes its socket ({@code onClose});</li>
 * <li>then the subscription is cancelled: the library closes the rx binding (and undoes the NIC setup).</li>
 * </ol>
 * No token is lost: each one is released by the handler or, for a connection still holding frags when
 * {@code devmem.listener.shutdown-timeout} ends, taken back by the kernel when the socket closes after the
 * receiver's close grace period (and counted in {@code devmem.reclaimed.frags}).
 *
 * <p>Why not cancel first and let the discard hook release what a {@code publishOn} queue holds? With
 * Reactor 3.8.7 a cancel that finds a drain task scheduled but not running (a busy worker) drops the
 * task without discarding the queue (reactor-core issue 4396): those frags would come back only when the
 * grace period ends. Draining first does not depend on that fix.
 */
public class DevmemListenerLifecycle implements SmartLifecycle {
    private static final Log log = LogFactory.getLog(DevmemListenerLifecycle.class);

    /** What the listener is doing. */
    public enum State { NEW, LISTENING, STOPPING, STOPPED, FAILED }

    /** A connection being handled, with the library's live counters and token ledger. */
    public record ActiveConnection(InetSocketAddress remote, ConnectionStats stats) {
    }

    private final DevmemReceiver receiver;
    private final DevmemConnectionHandler handler;
    private final InetSocketAddress address;
    private final int maxConnections;
    private final Duration shutdownTimeout;

    /** Connections accepted and not yet closed (their frags not all back): what stop() waits for. */
    private final Set<DevmemConnection> open = ConcurrentHashMap.newKeySet();
    private final AtomicLong accepted = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();

    private Disposable subscription; // guarded by this
    private Sinks.Empty<Void> stopAccepting; // guarded by this
    private volatile State state = State.NEW;
    private volatile Throwable failure;

    public DevmemListenerLifecycle(DevmemReceiver receiver, DevmemConnectionHandler handler,
                                   InetSocketAddress address, int maxConnections, Duration shutdownTimeout) {
        this.receiver = receiver;
        this.handler = handler;
        this.address = address;
        this.maxConnections = maxConnections;
        this.shutdownTimeout = shutdownTimeout;
    }

    @Override
    public synchronized void start() {
        if (subscription != null) {
            return;
        }
        log.info("devmem: listening on " + address + " with " + receiver);
        state = State.LISTENING;
        failure = null;
        stopAccepting = Sinks.empty();
        subscription = receiver.listen(address)
                .takeUntilOther(stopAccepting.asMono())
                .flatMap(this::handle, maxConnections)
                .subscribe(null, this::listenFailed, () -> {
                    if (state != State.FAILED) {
                        state = State.STOPPED;
                    }
                });
    }

    private Mono<Void> handle(DevmemConnection connection) {
        accepted.incrementAndGet();
        open.add(connection);
        connection.onClose().subscribe(null, e -> open.remove(connection), () -> open.remove(connection));
        return Mono.defer(() -> Flux.from(handler.handle(connection)).then())
                .onErrorResume(e -> {
                    failed.incrementAndGet();
                    log.warn("devmem: connection from " + connection.remoteAddress() + " failed: " + e);
                    return Mono.empty();
                });
    }

    /** Stops accepting, lets every connection hand its frags back and close, then ends the subscription. */
    @Override
    public void stop() {
        Disposable s;
        Sinks.Empty<Void> accepting;
        synchronized (this) {
            s = subscription;
            accepting = stopAccepting;
            subscription = null;
        }
        if (s == null) {
            return;
        }
        accepting.tryEmitEmpty();
        long deadline = System.nanoTime() + shutdownTimeout.toNanos();
        while (true) {
            // Again after each wait: a connection accepted just before the listener closed joins late.
            List<DevmemConnection> pending = List.copyOf(open);
            pending.forEach(DevmemConnection::dispose);
            if (state != State.FAILED) {
                state = State.STOPPING;
            }
            if (pending.isEmpty()) {
                break;
            }
            Duration left = Duration.ofNanos(deadline - System.nanoTime());
            if (left.isNegative() || !awaitClosed(pending, left)) {
                log.warn("devmem: " + open.size() + " connection(s) still hold frags after " + shutdownTimeout
                        + "; cancelling them, the kernel reclaims what is not released within the close grace period");
                break;
            }
        }
        s.dispose();
        if (state != State.FAILED) {
            state = State.STOPPED;
        }
        log.info("devmem: listener on " + address + " stopped (" + accepted.get() + " connections, " + failed.get() + " failed)");
    }

    private static boolean awaitClosed(List<DevmemConnection> connections, Duration timeout) {
        try {
            Flux.fromIterable(connections).flatMap(c -> c.onClose().onErrorComplete()).then().block(timeout);
            return true;
        } catch (IllegalStateException timedOut) {
            return false;
        }
    }

    private void listenFailed(Throwable e) {
        failure = e;
        state = State.FAILED;
        log.error("devmem: listening on " + address + " failed; no connections are accepted", e);
    }

    @Override
    public synchronized boolean isRunning() {
        return subscription != null;
    }

    public State state() {
        return state;
    }

    /** Why listening failed, for {@link State#FAILED}; else {@code null}. */
    public Throwable failure() {
        return failure;
    }

    public InetSocketAddress address() {
        return address;
    }

    public DevmemReceiver receiver() {
        return receiver;
    }

    /** Connections accepted since the start. */
    public long acceptedCount() {
        return accepted.get();
    }

    /** Connections whose handler failed. */
    public long failedCount() {
        return failed.get();
    }

    /** The connections not yet closed, with their live counters. */
    public List<ActiveConnection> active() {
        List<ActiveConnection> list = new ArrayList<>();
        for (DevmemConnection c : open) {
            list.add(new ActiveConnection(c.remoteAddress(), c.stats()));
        }
        return list;
    }
}
