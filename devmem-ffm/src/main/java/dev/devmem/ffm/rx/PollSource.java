package dev.devmem.ffm.rx;

/**
 * What an FFM {@link dev.devmem.api.spi.Pollable} waits on. Every listener and socket this module
 * hands out implements it; {@code PollIoWaiter} polls these fds plus its own eventfd.
 */
public interface PollSource {

    /** The fd to poll, or {@code -1} to wait only for a wake-up (or the timeout). */
    int pollFd();

    short pollEvents();
}
