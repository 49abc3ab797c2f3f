package dev.devmem.api.spi;

/**
 * Something an {@link IoWaiter} can wait on: a listener or a socket of the same backend. What it
 * waits for (a kernel fd, a buffer pool's eventfd, only a wake-up) is the backend's business.
 */
public interface Pollable {
}
