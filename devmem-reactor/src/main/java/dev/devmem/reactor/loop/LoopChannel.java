package dev.devmem.reactor.loop;

import org.reactivestreams.Subscription;
import reactor.core.CoreSubscriber;
import reactor.core.publisher.Operators;
import reactor.core.scheduler.Scheduler;

import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongFieldUpdater;

/**
 * The lifecycle a receive connection and a send channel share on their I/O loop, and the downstream
 * subscription both give their subscriber:
 * {@code NEW → ACTIVE → (DONE) → DRAINING → CLOSED}. Draining is the grace period after the end:
 * what the kernel still holds (delivered frags, sends in flight) may come back until it ends, then
 * the socket closes anyway.
 *
 * <p>Threads: {@link #request}, {@link #cancel} and the grace timer come from any thread and only set
 * fields and wake the loop; every state change and every downstream signal happens on the loop.
 *
 * @param <T> what the subscriber receives
 */
public abstract class LoopChannel<T> extends Channel implements Subscription {
    protected static final int NEW = 0;
    protected static final int ACTIVE = 1;
    /** The sender's end of input: everything sent and completed, waiting to be closed. */
    protected static final int DONE = 2;
    protected static final int DRAINING = 3;
    protected static final int CLOSED = 4;

    @SuppressWarnings("rawtypes")
    private static final AtomicLongFieldUpdater<LoopChannel> REQUESTED =
            AtomicLongFieldUpdater.newUpdater(LoopChannel.class, "requested");

    public final IoLoop loop;
    protected final Scheduler timer;
    private final long graceNanos;
    private final Runnable graceTick = this::onGraceTick;

    // --- touched by other threads ---
    protected volatile long requested;
    protected volatile boolean cancelled;
    protected volatile boolean graceDue;
    protected volatile boolean closedFlag;

    // --- loop thread only ---
    protected int state = NEW;
    protected CoreSubscriber<? super T> actual;

    protected LoopChannel(IoLoop loop, Scheduler timer, long graceNanos) {
        this.loop = loop;
        this.timer = timer;
        this.graceNanos = graceNanos;
    }

    // ------------------------------------------------------------------ Subscription (any thread)

    @Override
    public final void request(long n) {
        if (Operators.validate(n) && Operators.addCap(REQUESTED, this, n) == 0) {
            loop.signal();
        }
    }

    @Override
    public void cancel() {
        if (!cancelled) {
            cancelled = true;
            loop.signal();
        }
    }

    /** Loop thread: {@code n} of the demand were served. */
    @SuppressWarnings("unchecked")
    protected final void produced(long n) {
        REQUESTED.addAndGet(this, -n);
    }

    // ------------------------------------------------------------------ loop thread

    @Override
    protected final boolean work() {
        return switch (state) {
            case NEW -> workNew();
            case ACTIVE -> workActive();
            case DONE -> workDone();
            case DRAINING -> workDraining();
            default -> false;
        };
    }

    protected abstract boolean workNew();

    protected abstract boolean workActive();

    protected boolean workDone() {
        return false;
    }

    protected abstract boolean workDraining();

    /** Takes the subscriber, unless the channel closed before it came. */
    protected final void activate(CoreSubscriber<? super T> s) {
        if (state != NEW) {
            s.onError(new IllegalStateException(this + " already closed"));
            return;
        }
        actual = s;
        state = ACTIVE;
    }

    protected final void complete() {
        CoreSubscriber<? super T> a = actual;
        enterDraining();
        a.onComplete();
    }

    protected final void fail(Throwable e) {
        CoreSubscriber<? super T> a = actual;
        enterDraining();
        if (a != null) {
            a.onError(e);
        }
    }

    /** Ends the stream (no signal from here on) and lets what the kernel holds come back. */
    protected final void enterDraining() {
        state = DRAINING;
        actual = null;
        onDraining();
    }

    /** The subclass stops reading or sending; it may {@link #startGrace()}. */
    protected abstract void onDraining();

    /** What the kernel still holds may come back for the grace period; then {@link #graceDue} is set. */
    protected final void startGrace() {
        if (graceNanos <= 0) {
            graceDue = true;
            return;
        }
        try {
            timer.schedule(graceTick, graceNanos, TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException e) {
            graceDue = true;
        }
    }

    private void onGraceTick() {
        graceDue = true;
        loop.signal();
    }

    /** A forced close while the subscriber still listens: it learns why. */
    protected final void errorIfActive(Throwable cause) {
        CoreSubscriber<? super T> a = actual;
        if (state == ACTIVE && a != null) {
            actual = null;
            state = DRAINING;
            a.onError(cause);
        }
    }

    protected final void markClosed() {
        state = CLOSED;
        closedFlag = true;
    }

    @Override
    protected final boolean isClosed() {
        return state == CLOSED;
    }
}
