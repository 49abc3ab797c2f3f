package dev.devmem.samples.ingest;

import dev.devmem.reactor.ConnectionStats;
import dev.devmem.reactor.DevmemConnection;
import dev.devmem.spring.boot.DevmemConnectionHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Scheduler;

import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * For each devmem connection the starter's listener accepts: checksums its byte stream off the I/O
 * thread and records a {@link ConnectionResult}.
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
 * <p>Starting and stopping is the starter's {@code DevmemListenerLifecycle}: on shutdown it stops
 * accepting, disposes each connection (reading stops, the frags received stay valid), waits until the
 * workers have processed and released what is queued, and only then cancels; that cancel is what
 * records a connection cut by the shutdown as {@code CANCELLED}.
 */
public class IngestService implements DevmemConnectionHandler {
    private static final Logger log = LoggerFactory.getLogger(IngestService.class);

    /** A connection being received, as the endpoint shows it. */
    public record ActiveConnection(long id, String remote, Instant started, long bytes, long frags,
                                   ConnectionStats library) {
    }

    private final Scheduler processing;
    private final int prefetch;
    private final int retained;

    private final AtomicLong ids = new AtomicLong();
    /** Connections being received. */
    private final Map<Long, ConnectionDigest> active = new ConcurrentHashMap<>();
    /** The last {@code retained} results, oldest first; guarded by itself. */
    private final ArrayDeque<ConnectionResult> recent = new ArrayDeque<>();
    private final Sinks.Many<ConnectionResult> results = Sinks.many().multicast().directBestEffort();
    private final AtomicLong completed = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    private final AtomicLong cancelled = new AtomicLong();

    public IngestService(IngestProperties properties, Scheduler processing) {
        this.processing = processing;
        this.prefetch = properties.processing().prefetch();
        this.retained = properties.retainedResults();
    }

    /** One connection; its failure becomes a FAILED result and ends only this connection. */
    @Override
    public Mono<ConnectionResult> handle(DevmemConnection connection) {
        ConnectionDigest digest = new ConnectionDigest(ids.incrementAndGet(), connection);
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
                .doOnNext(this::record)
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

    // ------------------------------------------------------------------ views

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
