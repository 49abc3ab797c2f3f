package dev.devmem.reactor.loop;

import dev.devmem.api.spi.Pollable;

/**
 * Something an {@link IoLoop} drives: a connection or a listener. Every method runs on the loop
 * thread. {@link #work()} does a bounded amount of work and never blocks.
 */
public abstract class Channel {

    /** Does what can be done now without blocking; returns whether anything happened. */
    protected abstract boolean work();

    /** The endpoint to wait on when {@link #work()} found nothing to do, or {@code null} for none. */
    protected abstract Pollable pollable();

    protected abstract boolean isClosed();

    /**
     * Closes at once, because the loop stops or its scope ends: the subscriber (if any) gets
     * {@code cause}, and unreleased frags are reclaimed now, without a grace period.
     */
    protected abstract void closeNow(Throwable cause);
}
