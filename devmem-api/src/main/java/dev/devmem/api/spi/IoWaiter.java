package dev.devmem.api.spi;

import dev.devmem.api.DevmemException;

/**
 * Parks an I/O thread until one of its endpoints may make progress. One waiter per I/O thread.
 */
public interface IoWaiter extends AutoCloseable {

    /**
     * Blocks until one of {@code endpoints[0..count)} may make progress, {@link #wakeup()} was called
     * (also before this call, since the last return), or {@code timeoutNanos} passed
     * ({@code < 0}: no timeout). A spurious return is allowed; callers re-check their state.
     */
    void await(Pollable[] endpoints, int count, long timeoutNanos) throws DevmemException;

    /** Makes the current or next {@link #await} return. Safe from any thread; never blocks. */
    void wakeup();

    @Override
    void close();
}
