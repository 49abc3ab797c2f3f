package dev.devmem.reactor;

import dev.devmem.api.DevmemException;
import dev.devmem.api.DevmemFrag;
import dev.devmem.api.DevmemFragBatch;
import dev.devmem.api.FragKind;
import dev.devmem.api.spi.DevmemSocket;
import dev.devmem.api.spi.Pollable;
import dev.devmem.api.spi.ReceiveBatch;
import dev.devmem.api.spi.SocketStats;
import org.jctools.queues.atomic.MpscAtomicArrayQueue;
import org.reactivestreams.Publisher;
import org.reactivestreams.Subscription;
import reactor.core.CoreSubscriber;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Operators;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Scheduler;
import reactor.util.Logger;
import reactor.util.Loggers;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.Objects;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongFieldUpdater;
import java.util.function.Function;

/**
 * A connection and its receive subscription: the I/O-loop side of {@link DevmemConnection}.
 *
 * <p>Threads. The socket and every field without a {@code volatile} belong to the loop thread.
 * Other threads only: add demand and wake the loop on a 0 → positive transition ({@link #request});
 * cancel; dispose; and release frags, which puts them on the MPSC {@link #releases} queue (bounded by
 * the token budget, so it never fills; see {@link #released}).
 *
 * <p>Gates. A receive happens only with demand ({@link #requested} &gt; 0) and token credit
 * ({@code budget - outstanding} &gt; 0), and asks the socket for at most
 * {@code min(demand, credit, batchSize)} frags: so at most {@code n} onNext for {@code request(n)},
 * and never more than {@code budget} frags outstanding, with no internal queue of frags.
 *
 * <p>Release batching. Released frags are handed back to the socket, which sends a DONTNEED by itself
 * whenever a kernel batch is full. The loop makes it flush the rest once releases pause for the
 * release flush delay, at the latest {@code RELEASE_FLUSH_MAX_AGE_FACTOR} delays after the first
 * unflushed release, and at close. A timer task only sets a flag and wakes the loop.
 */
final class Connection extends Channel implements DevmemConnection, Subscription {
    private static final Logger log = Loggers.getLogger(Connection.class);
    private static final FragKind[] KINDS = FragKind.values();
    private static final int NEW = 0;
    private static final int ACTIVE = 1;
    private static final int DRAINING = 2;
    private static final int CLOSED = 3;
    private static final int NOT_STALLED = 0;
    private static final int STALLED_DEMAND = 1;
    private static final int STALLED_TOKENS = 2;
    private static final int STALLED_BUFFERS = 3;
    /** Receives per loop pass, so that one busy connection does not starve the others of its loop. */
    private static final int RECEIVES_PER_PASS = 8;

    private static final AtomicLongFieldUpdater<Connection> REQUESTED =
            AtomicLongFieldUpdater.newUpdater(Connection.class, "requested");
    private static final VarHandle ONCE;
    private static final VarHandle TOKEN_STALLED;
    private static final VarHandle STALL_RELEASES;
    private static final VarHandle FLUSH_ARMED;
    private static final VarHandle FLUSH_DUE;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            ONCE = l.findVarHandle(Connection.class, "once", int.class);
            TOKEN_STALLED = l.findVarHandle(Connection.class, "tokenStalled", int.class);
            STALL_RELEASES = l.findVarHandle(Connection.class, "stallReleases", int.class);
            FLUSH_ARMED = l.findVarHandle(Connection.class, "flushArmed", int.class);
            FLUSH_DUE = l.findVarHandle(Connection.class, "flushDue", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final IoLoop loop;
    private final DevmemSocket socket;
    private final Scope scope;
    private final Metrics metrics;
    private final Scheduler timer;
    private final int budget;
    private final int resumeThreshold;
    private final long flushDelayNanos;
    private final long flushMaxAgeNanos;
    private final long graceNanos;
    private final InetSocketAddress local;
    private final InetSocketAddress remote;
    private final ReceiveBatch batch;
    private final MpscAtomicArrayQueue<Releasable> releases;
    private final ArrayDeque<FragBatch.Arrays_> arrayPool = new ArrayDeque<>();
    private final int[] kindFrags = new int[KINDS.length];
    private final long[] kindBytes = new long[KINDS.length];
    private final Runnable flushTick = this::onFlushTick;
    private final Runnable graceTick = this::onGraceTick;
    private final Sinks.Empty<Void> closed = Sinks.empty();

    // --- touched by other threads ---
    private volatile int once;
    private volatile long requested;
    private volatile boolean cancelled;
    private volatile boolean disposed;
    private volatile Throwable forcedCause;
    private volatile boolean closedFlag;
    private volatile int tokenStalled;
    private volatile int stallReleases;
    private volatile int wakeAfter;
    private volatile int flushArmed;
    private volatile int flushDue;
    private volatile boolean graceDue;
    // published ledger (written by the loop, read by stats() elsewhere)
    private volatile long pubReceived;
    private volatile long pubBytes;
    private volatile long pubReturned;
    private volatile long pubReclaimed;
    private volatile long pubRecvCalls;
    private volatile long pubMaxOutstanding;
    private volatile long dontneedCalls;
    private volatile long tokensFreed;

    // --- loop thread only ---
    private int state = NEW;
    private CoreSubscriber<? super Object> actual;
    private boolean batchMode;
    private boolean wantRead;
    private int stalled = NOT_STALLED;
    private Throwable deferredError;
    private long received;
    private long bytes;
    private long returned;
    private long reclaimed;
    private long recvCalls;
    private long maxOutstanding;
    private long gaugeDelta;
    /** Frags handed back since the loop last made the socket flush (some may have gone in full batches). */
    private long handedSinceFlush;
    private long firstUnflushedAt;
    private long lastReleaseActivity = Long.MIN_VALUE / 2;

    Connection(DevmemSocket socket, Scope scope, IoLoop loop) {
        this.socket = socket;
        this.scope = scope;
        this.loop = loop;
        this.metrics = scope.metrics;
        this.timer = scope.timer;
        this.budget = scope.budget;
        this.resumeThreshold = Math.max(1, Math.min(scope.batchSize, budget / 4));
        this.flushDelayNanos = scope.config.releaseFlushDelay().toNanos();
        this.flushMaxAgeNanos = flushDelayNanos * DevmemReceiver.Defaults.RELEASE_FLUSH_MAX_AGE_FACTOR;
        this.graceNanos = scope.config.closeGracePeriod().toNanos();
        this.batch = new ReceiveBatch(Math.min(scope.batchSize, budget));
        // Every element is a frag or batch with frags outstanding, so at most `budget` elements: never full.
        this.releases = new MpscAtomicArrayQueue<>(Math.max(2, budget + 1));
        InetSocketAddress l;
        InetSocketAddress r;
        try {
            l = socket.localAddress();
            r = socket.remoteAddress();
        } catch (RuntimeException e) {
            l = null;
            r = null;
        }
        this.local = l;
        this.remote = r;
        metrics.connections(1);
    }

    // ------------------------------------------------------------------ DevmemConnection

    @Override
    public InetSocketAddress localAddress() {
        return local;
    }

    @Override
    public InetSocketAddress remoteAddress() {
        return remote;
    }

    @Override
    public Flux<DevmemFrag> receive() {
        return new Receive<>(this, false);
    }

    @Override
    public <T> Flux<T> receive(Function<? super Flux<DevmemFrag>, ? extends Publisher<T>> handler) {
        Objects.requireNonNull(handler, "handler");
        return Flux.<T>defer(() -> handler.apply(receive()))
                .doOnDiscard(DevmemFrag.class, DevmemFrag::release)
                .doOnDiscard(DevmemFragBatch.class, DevmemFragBatch::releaseAll);
    }

    @Override
    public Flux<DevmemFragBatch> receiveBatches() {
        return new Receive<>(this, true);
    }

    @Override
    public ConnectionStats stats() {
        if (loop.inLoop()) {
            return new ConnectionStats(received, bytes, returned, reclaimed, received - returned - reclaimed,
                    recvCalls, dontneedCalls, tokensFreed, maxOutstanding, state == CLOSED);
        }
        boolean c = closedFlag;
        long rec = pubReceived;
        long ret = pubReturned;
        long recl = pubReclaimed;
        return new ConnectionStats(rec, pubBytes, ret, recl, rec - ret - recl, pubRecvCalls, dontneedCalls,
                tokensFreed, pubMaxOutstanding, c);
    }

    @Override
    public Mono<Void> onClose() {
        return closed.asMono();
    }

    @Override
    public void dispose() {
        disposed = true;
        cancelled = true;
        loop.signal();
    }

    @Override
    public boolean isDisposed() {
        return disposed || closedFlag;
    }

    @Override
    public String toString() {
        return "DevmemConnection{" + local + " <- " + remote + '}';
    }

    // ------------------------------------------------------------------ Subscription

    @SuppressWarnings("unchecked")
    void subscribe(CoreSubscriber<?> s, boolean batches) {
        if (once == 0 && ONCE.compareAndSet(this, 0, 1)) {
            CoreSubscriber<? super Object> sub = (CoreSubscriber<? super Object>) s;
            sub.onSubscribe(this);
            loop.execute(() -> activate(sub, batches));
        } else {
            Operators.error(s, new IllegalStateException("Only one receive subscriber per devmem connection"));
        }
    }

    @Override
    public void request(long n) {
        if (Operators.validate(n)) {
            if (Operators.addCap(REQUESTED, this, n) == 0) {
                loop.signal();
            }
        }
    }

    @Override
    public void cancel() {
        if (!cancelled) {
            cancelled = true;
            loop.signal();
        }
    }

    /**
     * From the scope, any thread: the subscription that produced this connection ended. A connection
     * nobody subscribed to is closed; a subscribed one lives on until its receive ends.
     */
    void closeIfUnsubscribed(Throwable cause) {
        if (forcedCause == null) {
            forcedCause = cause;
        }
        loop.signal();
    }

    // ------------------------------------------------------------------ releases (any thread)

    /** A frag or batch was released ({@code frags} newly released frags). Never drops. */
    void released(Releasable r, int frags) {
        if (loop.inLoop()) {
            if (state != CLOSED) {
                try {
                    r.handBack(this);
                } catch (DevmemException e) {
                    if (deferredError == null) {
                        deferredError = e;
                    }
                }
            }
            return;
        }
        if (closedFlag) {
            return; // the socket is closed: the kernel already reclaimed it
        }
        while (!releases.offer(r)) {
            Thread.onSpinWait(); // cannot happen: the queue holds at most `budget` elements
        }
        VarHandle.fullFence(); // the offer above, then the reads of the loop's flags below
        countStallRelease(frags);
        armFlush();
    }

    void released(Frag f) {
        released(f, 1);
    }

    /** Wakes a loop that waits for token credit once enough frags came back to resume reading. */
    void countStallRelease(int frags) {
        if (tokenStalled != 0 && (int) STALL_RELEASES.getAndAdd(this, frags) + frags >= wakeAfter) {
            loop.signal();
        }
    }

    private void armFlush() {
        armFlush(flushDelayNanos);
    }

    private void armFlush(long delayNanos) {
        if (flushArmed == 0 && FLUSH_ARMED.compareAndSet(this, 0, 1)) {
            if (delayNanos <= 0) {
                onFlushTick();
                return;
            }
            try {
                timer.schedule(flushTick, delayNanos, TimeUnit.NANOSECONDS);
            } catch (RejectedExecutionException e) {
                onFlushTick();
            }
        }
    }

    private void onFlushTick() {
        FLUSH_DUE.setVolatile(this, 1);
        loop.signal();
    }

    private void onGraceTick() {
        graceDue = true;
        loop.signal();
    }

    // ------------------------------------------------------------------ loop thread

    /** Loop thread, from a release there: returns one frag unless the socket is closed already. */
    void handBackOnLoop(FragKind kind, int key) {
        if (state == CLOSED) {
            return;
        }
        try {
            handBack(kind, key);
        } catch (DevmemException e) {
            if (deferredError == null) {
                deferredError = e;
            }
        }
    }

    /** Loop thread: returns one frag to the socket. */
    void handBack(FragKind kind, int key) throws DevmemException {
        socket.release(kind, key);
        returned++;
        gaugeDelta--;
        if (handedSinceFlush++ == 0) {
            firstUnflushedAt = timer.now(TimeUnit.NANOSECONDS);
        }
        if (flushArmed == 0) {
            armFlush();
        }
    }

    FragBatch.Arrays_ arrays() {
        FragBatch.Arrays_ a = arrayPool.poll();
        return a != null ? a : new FragBatch.Arrays_(batch.capacity());
    }

    void recycle(FragBatch.Arrays_ a) {
        arrayPool.offer(a);
    }

    private void activate(CoreSubscriber<? super Object> s, boolean batches) {
        if (state != NEW) {
            s.onError(new IllegalStateException("devmem connection already closed: " + this));
            return;
        }
        actual = s;
        batchMode = batches;
        state = ACTIVE;
    }

    @Override
    boolean work() {
        switch (state) {
            case NEW:
                if (disposed || forcedCause != null) {
                    closeSocket();
                    return true;
                }
                return drainReleases();
            case ACTIVE:
                return workActive();
            case DRAINING:
                return workDraining();
            default:
                return false;
        }
    }

    private boolean workActive() {
        if (flushDue != 0) {
            onFlushDue(); // first: releases it drains were queued while the loop was elsewhere
        }
        long returnedBefore = returned;
        boolean progress = drainReleases();
        if (cancelled) {
            enterDraining(); // no signal after cancel
            return true;
        }
        if (deferredError != null) {
            fail(deferredError);
            return true;
        }
        try {
            progress |= receiveSome();
        } catch (DevmemException | RuntimeException e) {
            fail(e);
            progress = true;
        }
        if (returned != returnedBefore) {
            lastReleaseActivity = timer.now(TimeUnit.NANOSECONDS);
        }
        publish();
        return progress;
    }

    private boolean receiveSome() throws DevmemException {
        boolean progress = false;
        for (int round = 0; round < RECEIVES_PER_PASS; round++) {
            if (cancelled || state != ACTIVE) {
                return true;
            }
            long r = requested;
            if (r == 0) {
                stall(STALLED_DEMAND);
                wantRead = false;
                return progress;
            }
            long credit = budget - outstanding();
            if (credit <= 0) {
                waitForReleases(resumeThreshold);
                // releases that raced with the flag above are in the queue now
                if (drainReleases()) {
                    credit = budget - outstanding();
                }
                if (credit <= 0) {
                    stall(STALLED_TOKENS);
                    wantRead = false;
                    return progress;
                }
            }
            if (tokenStalled != 0) {
                TOKEN_STALLED.setVolatile(this, 0);
            }
            stalled = NOT_STALLED;
            int limit = (int) Math.min(Math.min(batchMode ? Long.MAX_VALUE : r, credit), batch.capacity());
            batch.limit(limit);
            int n = socket.receive(batch);
            if (n == DevmemSocket.END_OF_STREAM) {
                complete();
                return true;
            }
            if (n == 0) {
                wantRead = true;
                if (socket.awaitsReleases()) {
                    // Host slabs or NIC buffers are all pinned: only releases bring progress. Return the
                    // ones already handed back now, and have the next release wake the loop.
                    stall(STALLED_BUFFERS);
                    waitForReleases(1);
                    if (handedSinceFlush > 0) {
                        flush();
                    }
                    if (drainReleases()) {
                        flush();
                        progress = true;
                    }
                }
                return progress;
            }
            if (n > limit) {
                throw new DevmemException("backend returned " + n + " frags for a limit of " + limit);
            }
            progress = true;
            accountReceive(n);
            if (r != Long.MAX_VALUE) {
                REQUESTED.addAndGet(this, batchMode ? -1 : -n);
            }
            if (batchMode) {
                emitBatch(n);
            } else {
                emitFrags(n);
            }
        }
        return progress;
    }

    private void accountReceive(int n) {
        received += n;
        bytes += batch.bytes();
        recvCalls++;
        gaugeDelta += n;
        long out = outstanding();
        if (out > maxOutstanding) {
            maxOutstanding = out;
        }
        if (metrics.enabled()) {
            java.util.Arrays.fill(kindFrags, 0);
            java.util.Arrays.fill(kindBytes, 0);
            for (int i = 0; i < n; i++) {
                int k = batch.kindOrdinal(i);
                kindFrags[k]++;
                kindBytes[k] += batch.length(i);
            }
            metrics.received(n, kindFrags, kindBytes);
        }
    }

    private void emitFrags(int n) {
        CoreSubscriber<? super Object> a = actual;
        ReceiveBatch b = batch;
        int i = 0;
        for (; i < n; i++) {
            if (cancelled) {
                break;
            }
            Frag f = new Frag(this, (byte) b.kindOrdinal(i), b.dmabufId(i), b.offset(i), b.length(i),
                    b.streamPosition(i), b.releaseKey(i), b.memory(i));
            try {
                a.onNext(f);
            } catch (Throwable t) {
                i++;
                onNextFailed(a, t, f);
                break;
            }
        }
        // received, but the subscriber is gone: straight back to the socket
        for (; i < n; i++) {
            try {
                handBack(b.kind(i), b.releaseKey(i));
            } catch (DevmemException e) {
                if (deferredError == null) {
                    deferredError = e;
                }
            }
        }
    }

    private void emitBatch(int n) {
        CoreSubscriber<? super Object> a = actual;
        FragBatch fb = new FragBatch(this, batch, n, arrays());
        if (cancelled) {
            fb.releaseAll();
            return;
        }
        try {
            a.onNext(fb);
        } catch (Throwable t) {
            onNextFailed(a, t, fb);
        }
    }

    private void onNextFailed(CoreSubscriber<? super Object> a, Throwable t, Object value) {
        Throwable e = Operators.onOperatorError(this, t, value, a.currentContext());
        if (state == ACTIVE) {
            enterDraining();
            a.onError(e);
        }
    }

    /** Releases from other threads wake the loop once {@code frags} of them came back. */
    private void waitForReleases(int frags) {
        if (tokenStalled == 0) {
            wakeAfter = frags;
            STALL_RELEASES.setVolatile(this, 0);
            TOKEN_STALLED.setVolatile(this, 1);
        }
    }

    private void stall(int reason) {
        if (stalled != reason) {
            stalled = reason;
            metrics.stall(switch (reason) {
                case STALLED_DEMAND -> DevmemMeters.StallReason.DEMAND;
                case STALLED_TOKENS -> DevmemMeters.StallReason.TOKENS;
                default -> DevmemMeters.StallReason.BUFFERS;
            });
        }
    }

    private long outstanding() {
        return received - returned - reclaimed;
    }

    /** Hands every queued release back to the socket. Returns whether there was any. */
    private boolean drainReleases() {
        if (state == CLOSED) {
            return false;
        }
        boolean any = false;
        Releasable r;
        while ((r = releases.poll()) != null) {
            any = true;
            try {
                r.handBack(this);
            } catch (DevmemException e) {
                if (deferredError == null) {
                    deferredError = e;
                }
            }
        }
        return any;
    }

    /**
     * The flush timer fired. Flush when releases have paused for the flush delay (so a steady stream
     * of releases goes back in full kernel batches, flushed by the socket itself), or when the oldest
     * unflushed release is older than the max age; otherwise look again when one of those can be true.
     */
    private void onFlushDue() {
        FLUSH_DUE.setVolatile(this, 0);
        FLUSH_ARMED.setVolatile(this, 0);
        drainReleases();
        if (handedSinceFlush == 0) {
            return;
        }
        long now = timer.now(TimeUnit.NANOSECONDS);
        long idleAt = lastReleaseActivity + flushDelayNanos;
        long maxAt = firstUnflushedAt + flushMaxAgeNanos;
        if (now - idleAt >= 0 || now - maxAt >= 0) {
            flush();
        } else {
            armFlush(Math.min(idleAt, maxAt) - now);
        }
    }

    private void flush() {
        drainReleases();
        handedSinceFlush = 0;
        try {
            socket.flushReleases();
        } catch (DevmemException e) {
            if (deferredError == null) {
                deferredError = e;
            }
        }
        syncSocketStats();
    }

    private void syncSocketStats() {
        SocketStats s;
        try {
            s = socket.stats();
        } catch (RuntimeException e) {
            return;
        }
        long calls = s.dontneedCalls() - dontneedCalls;
        long tokens = s.tokensReturned() - tokensFreed;
        if (calls > 0) {
            metrics.dontneed(calls, tokens);
        }
        dontneedCalls = s.dontneedCalls();
        tokensFreed = s.tokensReturned();
    }

    private void complete() {
        CoreSubscriber<? super Object> a = actual;
        enterDraining();
        a.onComplete();
    }

    private void fail(Throwable e) {
        CoreSubscriber<? super Object> a = actual;
        enterDraining();
        if (a != null) {
            a.onError(e);
        }
    }

    private void enterDraining() {
        state = DRAINING;
        actual = null;
        wantRead = false;
        // From now on every release wakes the loop, so the socket closes as soon as the last frag is
        // back rather than at the next flush tick (a timer that may be slow, or virtual).
        wakeAfter = 1;
        STALL_RELEASES.setVolatile(this, 0);
        TOKEN_STALLED.setVolatile(this, 1);
        drainReleases();
        if (outstanding() > 0 && graceNanos > 0) {
            try {
                timer.schedule(graceTick, graceNanos, TimeUnit.NANOSECONDS);
            } catch (RejectedExecutionException e) {
                graceDue = true;
            }
        } else if (outstanding() > 0) {
            graceDue = true;
        }
    }

    private boolean workDraining() {
        boolean progress = drainReleases();
        if (outstanding() == 0 || graceDue) {
            closeSocket();
            return true;
        }
        if (progress || flushDue != 0) {
            FLUSH_DUE.setVolatile(this, 0);
            FLUSH_ARMED.setVolatile(this, 0);
            flush(); // nothing is read any more: return tokens as they come
        }
        publish();
        return progress;
    }

    private void closeSocket() {
        if (state == CLOSED) {
            return;
        }
        if (state == ACTIVE && actual != null) {
            // forced while active (closeNow): the subscriber learns why
            CoreSubscriber<? super Object> a = actual;
            actual = null;
            Throwable cause = forcedCause != null ? forcedCause : new IllegalStateException("connection closed");
            a.onError(cause);
        }
        drainReleases();
        try {
            socket.flushReleases();
        } catch (DevmemException e) {
            log.debug("flush at close failed for {}", this, e);
        }
        syncSocketStats();
        long left = outstanding();
        reclaimed += left;
        gaugeDelta -= left;
        metrics.reclaimed(left);
        try {
            socket.close();
        } catch (RuntimeException e) {
            log.warn("closing {} failed", this, e);
        }
        state = CLOSED;
        closedFlag = true;
        wantRead = false;
        publish();
        metrics.connections(-1);
        releases.clear();
        arrayPool.clear();
        scope.connectionClosed(this);
        closed.tryEmitEmpty();
    }

    private void publish() {
        metrics.returned(returned - pubReturned);
        metrics.outstandingDelta(gaugeDelta);
        gaugeDelta = 0;
        pubReceived = received;
        pubBytes = bytes;
        pubReturned = returned;
        pubReclaimed = reclaimed;
        pubRecvCalls = recvCalls;
        pubMaxOutstanding = maxOutstanding;
    }

    @Override
    Pollable pollable() {
        return state == ACTIVE && wantRead ? socket : null;
    }

    @Override
    boolean isClosed() {
        return state == CLOSED;
    }

    @Override
    void closeNow(Throwable cause) {
        if (forcedCause == null) {
            forcedCause = cause;
        }
        closeSocket();
    }

    static Function<Flux<DevmemFrag>, Publisher<DevmemFrag>> identity() {
        return f -> f;
    }

    /** The receive Flux of a connection: frags or batches. */
    private static final class Receive<T> extends Flux<T> {
        private final Connection connection;
        private final boolean batches;

        Receive(Connection connection, boolean batches) {
            this.connection = connection;
            this.batches = batches;
        }

        @Override
        public void subscribe(CoreSubscriber<? super T> actual) {
            connection.subscribe(actual, batches);
        }
    }
}
