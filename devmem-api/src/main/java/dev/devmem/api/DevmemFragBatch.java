package dev.devmem.api;


import java.lang.foreign.MemorySegment;

/**
 * The frags of one recvmsg, in stream order, without an object per frag. Frag {@code i} follows frag
 * {@code i - 1} in the stream: {@code streamPosition(i) == streamPosition(i - 1) + length(i - 1)}.
 *
 * <p>Each frag must be released, one by one with {@link #release(int)} or all at once with
 * {@link #releaseAll()}; both are idempotent per frag and safe from any thread. Once every frag is
 * released the batch is spent: its accessors throw {@link IllegalStateException} (its arrays are
 * reused), while release calls stay harmless no-ops.
 */
public interface DevmemFragBatch {

    /** Number of frags. */
    int size();

    /** Total length of the frags. */
    long bytes();

    FragKind kind(int i);

    int dmabufId(int i);

    long offset(int i);

    int length(int i);

    long streamPosition(int i);

    boolean isHostReadable(int i);

    /** A read-only view of frag {@code i}'s bytes; see {@link DevmemFrag#segment()}. */
    MemorySegment segment(int i);

    /** Releases frag {@code i}; only the first call for each frag has an effect. */
    void release(int i);

    /** Releases every frag not yet released. */
    void releaseAll();

    boolean isReleased(int i);

    /** A {@link DevmemFrag} view of frag {@code i}; releasing it releases frag {@code i} of this batch. */
    DevmemFrag frag(int i);
}
