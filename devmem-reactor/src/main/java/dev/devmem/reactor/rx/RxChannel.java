package dev.devmem.reactor.rx;

import dev.devmem.api.DevmemException;
import dev.devmem.api.FragKind;
import dev.devmem.api.spi.DevmemSocket;
import dev.devmem.api.spi.Pollable;
import dev.devmem.api.spi.ReceiveBatch;
import dev.devmem.reactor.ConnectionStats;
import dev.devmem.reactor.DevmemMeters;
import dev.devmem.reactor.loop.IoLoop;
import dev.devmem.reactor.loop.LoopChannel;
import reactor.core.CoreSubscriber;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Operators;
import reactor.core.publisher.Sinks;
import reactor.util.Logger;
import reactor.util.Loggers;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A connection's receive on its I/O loop, in the role of reactor-netty's {@code FluxReceive}: demand
 * in, frags out. {@link Connection} is its face.
 *
 * <p>Threads. The socket and every field without a {@code volatile} belong to the loop thread.
 * Other threads only: add demand and wake the loop on a 0 → positive transition; cancel; dispose;
 * and release frags, which go through the {@link ReleaseQueue}.
 *
 * <p>Gates. A receive happens only with demand ({@code requested} &gt; 0) and token credit
 * ({@code budget - outstanding} &gt; 0), and asks the socket for at most
 * {@code min(demand, credit, batchSize)} frags: so at most {@code n} onNext for {@code request(n)},
 * and never more than {@code budget} frags outstanding, with no internal queue of frags.
 *
 * <p>Lifecycle ({@link LoopChannel}): after the receive ends, delivered frags stay valid until they are
 * released or the grace period ends; then the socket closes and the kernel reclaims the rest.
 *
 * <p>Longer than the usual class (about 510 lines): the read gates, the emission and the drain and
 * close paths all read and write the same loop-thread state (the socket, the ledger, the stall
 * reason, the deferred error); the release queue, the ledger and the lifecycle are already apart.
 */
final class RxChannel extends LoopChannel<Object> implements ReleaseTarget {
    private static final Logger log = Loggers.getLogger(RxChannel.class);
    private static final FragKind[] KINDS = FragKind.values();
    private static final int NOT_STALLED = 0;
    private static final int STALLED_DEMAND = 1;
    private static final int STALLED_TOKENS = 2;
    private static final int STALLED_BUFFERS = 3;
    /** Receives per loop pass, so that one busy connection does not starve the others of its loop. */
    private static final int RECEIVES_PER_PASS = 8;

    private static final VarHandle ONCE;

    static {
        try {
            ONCE = MethodHandles.lookup().findVarHandle(RxChannel.class, "once", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final DevmemSocket socket;
    private final String name;
    private final Runnable onClosed;
    private final Metrics metrics;
    private final ConnectionCredit credit;
    private final int budget;
    private final int resumeThreshold;
    private final ReceiveBatch batch;
    private final ReleaseQueue releases;
    private final RxLedger ledger;
    private final FragBatch.ArraysPool arrays;
    private final Sinks.Empty<Void> closed = Sinks.empty();

    // --- touched by other threads ---
    private volatile int once;
    private volatile boolean disposed;
    private volatile Throwable forcedCause;

    // --- loop thread only ---
    private boolean batchMode;
    private boolean wantRead;
    private int stalled = NOT_STALLED;
    private Throwable deferredError;

    RxChannel(DevmemSocket socket, RxSettings settings, IoLoop loop, String name, Runnable onClosed) {
        super(loop, settings.timer(), settings.graceNanos());
        this.socket = socket;
        this.name = name;
        this.onClosed = onClosed;
        this.metrics = settings.metrics();
        this.credit = new ConnectionCredit(settings.credit(), loop);
        this.budget = settings.budget();
        this.resumeThreshold = Math.max(1, Math.min(settings.batchSize(), budget / 4));
        this.batch = new ReceiveBatch(Math.min(settings.batchSize(), budget));
        this.releases = new ReleaseQueue(budget, loop, timer, settings.flushDelayNanos());
        this.ledger = new RxLedger(metrics);
        this.arrays = new FragBatch.ArraysPool(batch.capacity());
        metrics.connections(1);
    }

    /** Exact on the loop thread, as last published elsewhere. */
    ConnectionStats stats() {
        boolean onLoop = loop.inLoop();
        return ledger.stats(onLoop, onLoop ? state == CLOSED : closedFlag);
    }

    Mono<Void> onClose() {
        return closed.asMono();
    }

    /** Any thread: ends the receive as a cancel would, or closes a connection nobody subscribed to. */
    void dispose() {
        disposed = true;
        cancelled = true;
        loop.signal();
    }

    boolean isDisposed() {
        return disposed || closedFlag;
    }

    @Override
    public String toString() {
        return name;
    }

    // ------------------------------------------------------------------ subscription

    @SuppressWarnings("unchecked")
    void subscribe(CoreSubscriber<?> s, boolean batches) {
        if (once == 0 && ONCE.compareAndSet(this, 0, 1)) {
            CoreSubscriber<? super Object> sub = (CoreSubscriber<? super Object>) s;
            sub.onSubscribe(this);
            loop.execute(() -> {
                batchMode = batches;
                activate(sub);
            });
        } else {
            Operators.error(s, new IllegalStateException("Only one receive subscriber per devmem connection"));
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

    // ------------------------------------------------------------------ ReleaseTarget

    @Override
    public boolean inLoop() {
        return loop.inLoop();
    }

    @Override
    public void released(Releasable r, int frags) {
        if (loop.inLoop()) {
            if (state != CLOSED) {
                try {
                    r.handBack(this);
                } catch (DevmemException e) {
                    keep(e);
                }
            }
            return;
        }
        if (closedFlag) {
            return; // the socket is closed: the kernel already reclaimed it
        }
        releases.offer(r, frags);
    }

    @Override
    public void countStallRelease(int frags) {
        releases.countStallRelease(frags);
    }

    @Override
    public void handBackOnLoop(FragKind kind, int key) {
        if (state == CLOSED) {
            return;
        }
        try {
            handBack(kind, key);
        } catch (DevmemException e) {
            keep(e);
        }
    }

    @Override
    public void handBack(FragKind kind, int key) throws DevmemException {
        socket.release(kind, key);
        ledger.returnedOne();
        credit.freed(1);
        if (kind == FragKind.DMABUF) {
            releases.handedBack(); // only tokens wait for a DONTNEED flush; host memory is back already
        }
    }

    @Override
    public void recycle(FragBatch.Arrays_ a) {
        arrays.recycle(a);
    }

    private void keep(DevmemException e) {
        if (deferredError == null) {
            deferredError = e;
        }
    }

    // ------------------------------------------------------------------ loop thread

    @Override
    protected boolean workNew() {
        if (disposed || forcedCause != null) {
            closeSocket();
            return true;
        }
        boolean progress = drainReleases();
        credit.giveBack();
        return progress;
    }

    @Override
    protected boolean workActive() {
        if (releases.flushDue()) {
            onFlushDue(); // first: releases it drains were queued while the loop was elsewhere
        }
        long returnedBefore = ledger.returned();
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
        if (ledger.returned() != returnedBefore) {
            releases.activity();
        }
        credit.giveBack();
        ledger.publish();
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
            long room = budget - ledger.outstanding(); // this connection's limit
            if (room <= 0) {
                releases.wakeAfter(resumeThreshold);
                // releases that raced with the flag above are in the queue now
                if (drainReleases()) {
                    room = budget - ledger.outstanding();
                }
                if (room <= 0) {
                    stall(STALLED_TOKENS);
                    wantRead = false;
                    return progress;
                }
            }
            releases.resumed();
            int want = (int) Math.min(Math.min(batchMode ? Long.MAX_VALUE : r, room), batch.capacity());
            int limit = credit.take(want);
            if (limit == 0) {
                stall(STALLED_TOKENS); // the other connections of the binding hold the shared budget
                wantRead = false;
                return progress;
            }
            stalled = NOT_STALLED;
            batch.limit(limit);
            int n;
            try {
                n = socket.receive(batch);
            } catch (DevmemException | RuntimeException e) {
                credit.unused(limit);
                throw e;
            }
            if (n == DevmemSocket.END_OF_STREAM || n <= 0 || n > limit) {
                credit.unused(limit);
            } else if (n < limit) {
                credit.unused(limit - n);
            }
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
                    releases.wakeAfter(1);
                    if (releases.hasUnflushed()) {
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
            ledger.received(batch, n);
            if (r != Long.MAX_VALUE) {
                produced(batchMode ? 1 : n);
            }
            if (batchMode) {
                emitBatch(n);
            } else {
                emitFrags(n);
            }
        }
        return progress;
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
                keep(e);
            }
        }
    }

    private void emitBatch(int n) {
        CoreSubscriber<? super Object> a = actual;
        FragBatch fb = new FragBatch(this, batch, n, arrays.take());
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
                keep(e);
            }
        }
        return any;
    }

    /** The flush timer fired: flush now, or later (see {@link ReleaseQueue#flushNowOrRearm()}). */
    private void onFlushDue() {
        releases.disarm();
        drainReleases();
        if (releases.flushNowOrRearm()) {
            flush();
        }
    }

    private void flush() {
        drainReleases();
        releases.flushed();
        try {
            socket.flushReleases();
        } catch (DevmemException e) {
            keep(e);
        }
        ledger.syncSocketStats(socket);
    }

    @Override
    protected void onDraining() {
        wantRead = false;
        // From now on every release wakes the loop, so the socket closes as soon as the last frag is
        // back rather than at the next flush tick (a timer that may be slow, or virtual).
        releases.wakeOnEveryRelease();
        drainReleases();
        if (ledger.outstanding() > 0) {
            startGrace();
        }
    }

    @Override
    protected boolean workDraining() {
        boolean progress = drainReleases();
        if (ledger.outstanding() == 0 || graceDue) {
            closeSocket();
            return true;
        }
        if (progress || releases.flushDue()) {
            releases.disarm();
            flush(); // nothing is read any more: return tokens as they come
        }
        credit.giveBack();
        ledger.publish();
        return progress;
    }

    private void closeSocket() {
        if (state == CLOSED) {
            return;
        }
        // forced while active (closeNow): the subscriber learns why
        errorIfActive(forcedCause != null ? forcedCause : new IllegalStateException("connection closed"));
        drainReleases();
        try {
            socket.flushReleases();
        } catch (DevmemException e) {
            log.debug("flush at close failed for {}", this, e);
        }
        ledger.syncSocketStats(socket);
        credit.freed((int) ledger.reclaimRest()); // the kernel takes them back with the socket
        credit.giveBack();
        try {
            socket.close();
        } catch (RuntimeException e) {
            log.warn("closing {} failed", this, e);
        }
        // publish before the closed flag: a thread that reads closed=true then sees the final counts
        ledger.publish();
        markClosed();
        wantRead = false;
        metrics.connections(-1);
        releases.clear();
        arrays.clear();
        onClosed.run();
        closed.tryEmitEmpty();
    }

    @Override
    protected Pollable pollable() {
        return state == ACTIVE && wantRead ? socket : null;
    }

    @Override
    protected void closeNow(Throwable cause) {
        if (forcedCause == null) {
            forcedCause = cause;
        }
        closeSocket();
    }
}
