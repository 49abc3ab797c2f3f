package dev.devmem.api.spi;

import dev.devmem.api.DevmemException;
import dev.devmem.api.FragKind;

import java.net.InetSocketAddress;

/**
 * A connected, non-blocking TCP socket that receives devmem fragments.
 *
 * <p>Used by one I/O thread at a time. Nothing here allocates per fragment: {@link #receive} fills
 * a caller-owned {@link ReceiveBatch}, and releases are queued by key and flushed to the kernel in
 * as few {@code SO_DEVMEM_DONTNEED} calls as its per-call limits allow.
 */
public interface DevmemSocket extends Pollable, AutoCloseable {

    /** {@link #receive} found the end of the stream (the peer shut down its side). */
    int END_OF_STREAM = -1;

    InetSocketAddress localAddress();

    InetSocketAddress remoteAddress();

    /**
     * Receives what is ready, without blocking, into {@code batch} (cleared first), at most
     * {@link ReceiveBatch#limit()} fragments. Returns the number of fragments, {@code 0} when nothing
     * is ready (wait with an {@link IoWaiter}), or {@link #END_OF_STREAM}.
     *
     * @throws DevmemException the kernel's error (e.g. ECONNRESET) or a broken devmem contract
     */
    int receive(ReceiveBatch batch) throws DevmemException;

    /**
     * Queues the return of one fragment received on this socket, identified by its kind and
     * {@link ReceiveBatch#releaseKey(int) release key}. Flushes by itself when a kernel batch is full.
     * A key that is not outstanding is ignored and counted ({@link SocketStats#unknownReleases()}),
     * never sent to the kernel, because the kernel reuses token ids. Only {@link FragKind#DMABUF}
     * returns are queued (they are tokens for {@code SO_DEVMEM_DONTNEED}); HOST and LINEAR memory is
     * the socket's own and is taken back at once, so {@link #flushReleases} never concerns it.
     */
    void release(FragKind kind, int releaseKey) throws DevmemException;

    /** Returns every queued release to the kernel now. Returns the number of DONTNEED calls made. */
    int flushReleases() throws DevmemException;

    /**
     * Whether the socket cannot receive again until fragments come back: every host slab or NIC
     * buffer it could fill is held by fragments not yet released. After a {@link #receive} that
     * returned {@code 0}, an I/O loop that sees {@code true} stops waiting for data and waits for the
     * next release instead (data arriving meanwhile cannot be taken). Default {@code false}, for
     * sockets whose buffers never run out.
     */
    default boolean awaitsReleases() {
        return false;
    }

    /** Fragments received and not yet released (DMABUF tokens plus host slices). */
    int outstanding();

    /** Counters since the socket was opened. Allocates a snapshot; not for the per-fragment path. */
    SocketStats stats();

    /** Stops sending (TCP FIN) while still receiving. */
    void shutdownOutput() throws DevmemException;

    /**
     * Closes the socket. Outstanding tokens go back to the kernel with the socket (the kernel frees
     * them on close); host slices are reclaimed. Idempotent.
     */
    @Override
    void close();
}
