package dev.devmem.api.spi;

/**
 * Something an {@link IoWaiter} can wait on: a listener or a socket of the same backend. What it
 * waits for (a kernel fd, a buffer pool's eventfd, only a wake-up) is the backend's business.
 */
public interface Pollable {

    /**
     * The endpoint a waiter polls for this one: itself, or for a wrapper (one that observes or
     * forwards a backend's socket) the wrapped endpoint, so that wrapping never needs to know the
     * backend's own polling type.
     */
    default Pollable pollTarget() {
        return this;
    }
}
