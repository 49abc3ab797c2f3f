package dev.devmem.api;

import java.lang.foreign.MemorySegment;

/**
 * One received fragment of a TCP stream.
 *
 * <p>Every fragment must be {@linkplain #release() released} exactly when the application is done
 * with it, whatever its kind: a {@link FragKind#DMABUF} fragment pins a NIC buffer until its token
 * goes back to the kernel ({@code SO_DEVMEM_DONTNEED}); {@link FragKind#LINEAR} and
 * {@link FragKind#HOST} fragments pin a slice of a pooled host buffer. Fragments that are never
 * released starve the NIC; the library's token budget then stops reading.
 *
 * <p>{@link #streamPosition()} is the exact byte offset of the fragment's first byte in the TCP
 * stream, so consumers can reassemble across kinds.
 */
public interface DevmemFrag {

    FragKind kind();

    /** The binding id the kernel returned from bind-rx, or 0 for LINEAR and HOST fragments. */
    int dmabufId();

    /**
     * For DMABUF: the byte offset in the dmabuf (its scatter-gather entries laid end to end).
     * For LINEAR and HOST: the offset of the bytes in the host buffer they were received into.
     */
    long offset();

    int length();

    /** Offset of this fragment's first byte in the connection's byte stream. */
    long streamPosition();

    /**
     * Returns the fragment's memory to the NIC or the host pool. Idempotent and safe from any
     * thread: only the first call has an effect. Returns are batched; the token reaches the kernel
     * on the connection's I/O thread.
     */
    void release();

    boolean isReleased();

    /** Whether {@link #segment()} can give the bytes: LINEAR and HOST always, DMABUF when the dmabuf is host-mappable. */
    boolean isHostReadable();

    /**
     * A read-only view of the fragment's bytes. Valid until {@link #release()}; reading after release
     * sees memory that may already hold other data.
     *
     * @throws UnsupportedOperationException when the memory is not host-readable (device memory)
     */
    MemorySegment segment();
}
