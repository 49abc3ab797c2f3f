package dev.devmem.reactor.rx;

import dev.devmem.reactor.loop.IoLoop;
import org.jctools.queues.atomic.MpscAtomicArrayQueue;
import reactor.core.scheduler.Scheduler;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * The way frags released on other threads get back to a connection's loop: an MPSC hand-back queue,
 * the flush policy, and the stall wake-up.
 *
 * <p>Hand-back. Any thread {@linkplain #offer offers} a released frag or batch; the loop
 * {@linkplain #poll polls} them and returns each to the socket. Every element holds outstanding frags,
 * so the queue (sized to the connection's token limit) never fills.
 *
 * <p>Flush policy. Returned frags go back to the kernel in full DONTNEED batches by themselves; the rest
 * is flushed once releases pause for the flush delay, and at the latest
 * {@value #FLUSH_MAX_AGE_FACTOR} delays after the first unflushed one. A
 * timer task only sets a flag and wakes the loop.
 *
 * <p>Stall wake. A loop out of token credit (or of buffers) parks until {@code frags} releases came
 * back, then is woken once; every other release costs no wake-up.
 */
public final class ReleaseQueue {
    /** A released token waits at most this many flush delays (the receiver documents it as a default). */
    public static final int FLUSH_MAX_AGE_FACTOR = 50;
    private static final VarHandle TOKEN_STALLED;
    private static final VarHandle STALL_RELEASES;
    private static final VarHandle FLUSH_ARMED;
    private static final VarHandle FLUSH_DUE;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            TOKEN_STALLED = l.findVarHandle(ReleaseQueue.class, "tokenStalled", int.class);
            STALL_RELEASES = l.findVarHandle(ReleaseQueue.class, "stallReleases", int.class);
            FLUSH_ARMED = l.findVarHandle(ReleaseQueue.class, "flushArmed", int.class);
            FLUSH_DUE = l.findVarHandle(ReleaseQueue.class, "flushDue", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final MpscAtomicArrayQueue<Releasable> queue;
    private final IoLoop loop;
    private final Scheduler timer;
    private final long flushDelayNanos;
    private final long flushMaxAgeNanos;
    private final Runnable flushTick = this::onFlushTick;

    // --- touched by other threads ---
    private volatile int tokenStalled;
    private volatile int stallReleases;
    private volatile int wakeAfter;
    private volatile int flushArmed;
    private volatile int flushDue;

    // --- loop thread only ---
    /** Frags handed back since the loop last made the socket flush (some may have gone in full batches). */
    private long handedSinceFlush;
    private long firstUnflushedAt;
    private long lastReleaseActivity = Long.MIN_VALUE / 2;

    ReleaseQueue(int capacity, IoLoop loop, Scheduler timer, long flushDelayNanos) {
        this.queue = new MpscAtomicArrayQueue<>(Math.max(2, capacity + 1));
        this.loop = loop;
        this.timer = timer;
        this.flushDelayNanos = flushDelayNanos;
        this.flushMaxAgeNanos = flushDelayNanos * FLUSH_MAX_AGE_FACTOR;
    }

    // ------------------------------------------------------------------ any thread

    /** {@code r} holds {@code frags} newly released frags. Never drops. */
    void offer(Releasable r, int frags) {
        while (!queue.offer(r)) {
            Thread.onSpinWait(); // cannot happen: the queue holds at most `capacity` elements
        }
        VarHandle.fullFence(); // the offer above, then the reads of the loop's flags below
        countStallRelease(frags);
        armFlush(flushDelayNanos);
    }

    /** Wakes a loop that waits for releases once enough frags came back to resume. */
    void countStallRelease(int frags) {
        if (tokenStalled != 0 && (int) STALL_RELEASES.getAndAdd(this, frags) + frags >= wakeAfter) {
            loop.signal();
        }
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

    // ------------------------------------------------------------------ loop thread

    Releasable poll() {
        return queue.poll();
    }

    void clear() {
        queue.clear();
    }

    /** A frag went back to the socket: the flush clock starts with the first unflushed one. */
    void handedBack() {
        if (handedSinceFlush++ == 0) {
            firstUnflushedAt = timer.now(TimeUnit.NANOSECONDS);
        }
        if (flushArmed == 0) {
            armFlush(flushDelayNanos);
        }
    }

    /** Releases came back during this loop pass: the idle clock restarts. */
    void activity() {
        lastReleaseActivity = timer.now(TimeUnit.NANOSECONDS);
    }

    boolean hasUnflushed() {
        return handedSinceFlush > 0;
    }

    /** The socket was made to flush. */
    void flushed() {
        handedSinceFlush = 0;
    }

    boolean flushDue() {
        return flushDue != 0;
    }

    /** Takes the timer's flag; the next release arms it again. */
    void disarm() {
        FLUSH_DUE.setVolatile(this, 0);
        FLUSH_ARMED.setVolatile(this, 0);
    }

    /**
     * After the flush timer fired (and {@link #disarm()}): whether to flush now, because releases paused
     * for the flush delay or the oldest unflushed one reached the max age; otherwise the timer is armed
     * for when one of those can be true.
     */
    boolean flushNowOrRearm() {
        if (handedSinceFlush == 0) {
            return false;
        }
        long now = timer.now(TimeUnit.NANOSECONDS);
        long idleAt = lastReleaseActivity + flushDelayNanos;
        long maxAt = firstUnflushedAt + flushMaxAgeNanos;
        if (now - idleAt >= 0 || now - maxAt >= 0) {
            return true;
        }
        armFlush(Math.min(idleAt, maxAt) - now);
        return false;
    }

    /** Releases from other threads wake the loop once {@code frags} of them came back. */
    void wakeAfter(int frags) {
        if (tokenStalled == 0) {
            wakeAfter = frags;
            STALL_RELEASES.setVolatile(this, 0);
            TOKEN_STALLED.setVolatile(this, 1);
        }
    }

    /** Reading resumed: releases stop counting toward a wake-up. */
    void resumed() {
        if (tokenStalled != 0) {
            TOKEN_STALLED.setVolatile(this, 0);
        }
    }

    /** From now on every release wakes the loop (after a receive ended, each one may be the last). */
    void wakeOnEveryRelease() {
        wakeAfter = 1;
        STALL_RELEASES.setVolatile(this, 0);
        TOKEN_STALLED.setVolatile(this, 1);
    }
}
