package dev.devmem.api.spi;

import dev.devmem.api.DevmemException;

/**
 * Captures what a socket-creating thread's context means to the kernel, to be entered by another
 * thread. On Linux that is the network namespace: namespaces belong to threads, and every socket
 * (netlink included) lives in the namespace of the thread that created it, so blocking setup handed
 * to a pooled thread must run in the namespace of the thread that asked for it. Served by a backend
 * module through {@link java.util.ServiceLoader}; without one, nothing is captured.
 */
public interface ThreadContextCapture {

    /** The calling thread's context. Holds what it needs (an fd) until {@link Captured#close()}. */
    Captured capture() throws DevmemException;

    /** One thread's captured context. */
    interface Captured extends AutoCloseable {

        /** Moves the calling thread into this context, unless it is already there. */
        void enter() throws DevmemException;

        @Override
        void close();
    }
}
