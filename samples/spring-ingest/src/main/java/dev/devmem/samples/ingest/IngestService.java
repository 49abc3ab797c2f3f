package dev.devmem.samples.ingest;

import dev.devmem.reactor.ConnectionStats;
import dev.devmem.reactor.DevmemConnection;
import dev.devmem.reactor.DevmemReceiver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Scheduler;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Listens for devmem TCP connections while the application runs and, for each one, checksums its
 * byte stream off the I/O thread and records a {@link ConnectionResult}.
 *
 * <p>The pipeline, per connection:
 * <pre>{@code
 * connection.receive(frags -> frags                 // onNext on the devmem I/O loop thread
 *         .publishOn(processing, prefetch)          // hand off: at most `prefetch` frags queued
 *         .doOnNext(digest::accept)                 // checksum on a worker, then frag.release()
 *         .then())
 * }</pre>
 * {@code receive(handler)} installs the frag-releasing discard hook under the whole handler, so the
 * frags still queued in {@code publishOn} when the connection is cancelled or fails are released too.
 *
 * <p>A {@link SmartLifecycle}: {@link #start()} subscribes once the context is refreshed; {@link #stop()}
 * (context close, before any bean is destroyed) stops accepting, lets every connection hand its frags
 * back and close, and then ends the subscription, upon which the library closes the rx binding.
 */
public class IngestService implements SmartLifecycle {
    private static final Logger log = LoggerFactory.getLogger(IngestService.class);

    /** What the service is doing. */
    public enum State { NEW, LISTENING, STOPPING, STOPPED, FAILED }

    /** A connection being received, as the endpoint shows it. */
    public record ActiveConnection(long id, String remote, Instant started, long bytes, long frags,
                                   ConnectionStats library) {
    }

    private final DevmemReceiver receiver;
    private final InetSocketAddress address;
    private final Scheduler processing;
    private final int prefetch;
    private final int maxConnections;
    private final int retained;
    private final Duration shutdownTimeout;

    private final AtomicLong ids = new AtomicLong();
    /** Connections being received. */
    private final Map<Long, ConnectionDigest> active = new ConcurrentHashMap<>();
    /** Connections accepted and not yet closed (their frags not all back): what stop() waits for. */
    private final Set<DevmemConnection> open = ConcurrentHashMap.newKeySet();
    /** The last {@code retained} results, oldest first; guarded by itself. */
    private final ArrayDeque<ConnectionResult> recent = new ArrayDeque<>();
    private final Sinks.Many<ConnectionResult> results = Sinks.many().multicast().directBestEffort();
    private final AtomicLong completed = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    private final AtomicLong cancelled = new AtomicLong();

    private volatile Disposable subscription;
    private Sinks.Empty<Void> stopAccepting; // guarded by this
    private volatile State state = State.NEW;
    private volatile Throwable failure;

    public IngestService(DevmemReceiver receiver, IngestProperties properties, Scheduler processing) {
        this.receiver = receiver;
        this.address = new InetSocketAddress(properties.listenAddress(), properties.port());
        this.processing = processing;
        this.prefetch = properties.processing().prefetch();
        this.maxConnections = properties.processing().maxConnections();
        this.retained = properties.retainedResults();
        this.shutdownTimeout = properties.shutdownTimeout();
    }

    // ------------------------------------------------------------------ lifecycle

    @Override
    public synchronized void start() {
        if (subscription != null) {
            return;
        }
        log.info("devmem ingest: listening on {} with {}", address, receiver);
        state = State.LISTENING;
        failure = null;
        stopAccepting = Sinks.empty();
        // One accept per unit of demand: at most maxConnections are processed at once, the rest wait
        // in the kernel's listen backlog. A connection's failure ends only that connection.
        subscription = receiver.listen(address)
                .takeUntilOther(stopAccepting.asMono())
                .flatMap(this::ingest, maxConnections)
                .subscribe(this::record, this::listenFailed, () -> state = State.STOPPED);
    }

    /**
     * Stops gracefully, in this order:
     * <ol>
     * <li>the listener closes (no new connections);</li>
     * <li>each connection is disposed: the library stops reading at once and signals nothing more, while
     *     the frags already received stay valid; the workers process and release what is queued;</li>
     * <li>once a connection has every frag back, the library closes its socket ({@code onClose});</li>
     * <li>then the subscription is cancelled: the pipelines are idle, nothing is left in a queue, and the
     *     library closes the rx binding (and undoes the NIC setup) after the last connection.</li>
     * </ol>
     * Cancelling first would work too, with the discard hook releasing what {@code publishOn} still
     * holds, but Reactor 3.8.7 skips that discard when the cancel finds a drain task scheduled and not
     * yet running (a busy worker): reactor-core issue 4396. Those frags would only come back when the
     * close grace period ends, reclaimed by the kernel. Draining first does not depend on it.
     *
     * <p>Bounded by {@code shutdown-timeout}: connections still open then are cancelled, and the library
     * reclaims their frags when the close grace period ends.
     */
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
            List<DevmemConnection> pending = List.copyOf(open);
            pending.forEach(DevmemConnection::dispose);
            if (state != State.FAILED) {
                state = State.STOPPING; // not accepting, every connection told to stop reading
            }
            if (pending.isEmpty()) {
                break;
            }
            Duration left = Duration.ofNanos(deadline - System.nanoTime());
            if (left.isNegative() || !awaitClosed(pending, left)) {
                log.warn("devmem ingest: {} connection(s) still hold frags after {}; cancelling them, the kernel"
                        + " reclaims what is not released within the close grace period", open.size(),
                        shutdownTimeout);
                break;
            }
        }
        s.dispose();
        if (state != State.FAILED) {
            state = State.STOPPED;
        }
        log.info("devmem ingest: stopped ({} completed, {} failed, {} cancelled)", completed.get(), failed.get(),
                cancelled.get());
    }

    private static boolean awaitClosed(List<DevmemConnection> connections, Duration timeout) {
        try {
            Flux.fromIterable(connections).flatMap(DevmemConnection::onClose).then().block(timeout);
            return true;
        } catch (IllegalStateException timedOut) {
            return false;
        }
    }

    @Override
    public boolean isRunning() {
        return subscription != null;
    }

    // ------------------------------------------------------------------ one connection

    private Mono<ConnectionResult> ingest(DevmemConnection connection) {
        ConnectionDigest digest = new ConnectionDigest(ids.incrementAndGet(), connection);
        open.add(connection);
        connection.onClose().subscribe(null, e -> open.remove(connection), () -> open.remove(connection));
        active.put(digest.id(), digest);
        log.debug("devmem ingest: connection {} from {}", digest.id(), digest.remote());
        return connection.receive(frags -> frags
                        // Frags arrive on the devmem I/O thread, which serves every connection of its loop:
                        // never compute there. publishOn moves them to a worker through a bounded queue.
                        .publishOn(processing, prefetch)
                        .doOnNext(digest::accept)
                        .then())
                .then(Mono.fromSupplier(() -> digest.result(ConnectionResult.Outcome.COMPLETED, null)))
                .onErrorResume(e -> Mono.just(digest.result(ConnectionResult.Outcome.FAILED, e)))
                .doOnCancel(() -> record(digest.result(ConnectionResult.Outcome.CANCELLED, null)))
                .doFinally(signal -> active.remove(digest.id()));
    }

    private void record(ConnectionResult r) {
        switch (r.outcome()) {
            case COMPLETED -> completed.incrementAndGet();
            case FAILED -> failed.incrementAndGet();
            case CANCELLED -> cancelled.incrementAndGet();
        }
        if (r.outcome() == ConnectionResult.Outcome.FAILED) {
            log.warn("devmem ingest: connection {} from {} failed after {} bytes: {}", r.id(), r.remote(), r.bytes(),
                    r.error());
        } else {
            log.info("devmem ingest: connection {} from {} {}: {} bytes in {} frags ({} dmabuf, {} linear, {} host),"
                            + " crc32c {}, {} MiB/s", r.id(), r.remote(), r.outcome().name().toLowerCase(Locale.ROOT), r.bytes(),
                    r.frags(), r.dmabufFrags(), r.linearFrags(), r.hostFrags(), r.crc32c(),
                    String.format("%.1f", r.mibPerSecond()));
        }
        synchronized (recent) {
            if (recent.size() == retained) {
                recent.removeFirst();
            }
            recent.addLast(r);
            results.tryEmitNext(r); // serialised by the lock; subscribers that cannot keep up miss results
        }
    }

    private void listenFailed(Throwable e) {
        failure = e;
        state = State.FAILED;
        log.error("devmem ingest: listening on {} failed; no connections are accepted", address, e);
    }

    // ------------------------------------------------------------------ views

    public State state() {
        return state;
    }

    /** Why listening failed, for {@link State#FAILED}. */
    public Throwable failure() {
        return failure;
    }

    public InetSocketAddress address() {
        return address;
    }

    public DevmemReceiver receiver() {
        return receiver;
    }

    /** The connections being received, oldest first, with their live library counters. */
    public List<ActiveConnection> active() {
        List<ActiveConnection> list = new ArrayList<>();
        for (ConnectionDigest d : active.values()) {
            list.add(new ActiveConnection(d.id(), d.remote().getHostString() + ":" + d.remote().getPort(),
                    d.started(), d.bytes(), d.frags(), d.connection().stats()));
        }
        list.sort(Comparator.comparingLong(ActiveConnection::id));
        return list;
    }

    /** The last finished connections (at most {@code retained-results}), oldest first. */
    public List<ConnectionResult> recent() {
        synchronized (recent) {
            return List.copyOf(recent);
        }
    }

    /** Results as connections finish, from now on (hot; a slow subscriber misses results). */
    public Flux<ConnectionResult> results() {
        return results.asFlux();
    }

    public long completedCount() {
        return completed.get();
    }

    public long failedCount() {
        return failed.get();
    }

    public long cancelledCount() {
        return cancelled.get();
    }
}
