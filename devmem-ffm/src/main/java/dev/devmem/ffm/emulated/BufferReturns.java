package dev.devmem.ffm.emulated;

/**
 * Buffers whose last reference one endpoint dropped, waiting to go back to their pool together.
 *
 * <p>Why: dropping a reference takes no lock ({@link EmulatedRxBinding#drop}: the buffer is the
 * socket's own), but putting a buffer back on the free stack takes the pool's lock. A DONTNEED frees up to 1024 tokens and an
 * eaten skb up to 17 frags; collecting the buffers that reached zero and handing them back in one
 * {@link EmulatedRxBinding#recycle} takes that lock once per batch instead of once per frag. Every
 * operation of the endpoint that drops references ends with {@link #flush()}, so a buffer is back in
 * the pool (and a starved reader signalled) before the operation returns, as with one lock per frag.
 *
 * <p>Not thread-safe: one per endpoint, used by the thread that uses the endpoint.
 */
final class BufferReturns {
    private final int[] buffers;
    private EmulatedRxBinding binding;
    private int count;

    BufferReturns(int capacity) {
        buffers = new int[capacity];
    }

    /** Drops one reference on {@code buffer} of {@code b}; collects the buffer if it was the last. */
    void drop(EmulatedRxBinding b, int buffer) {
        if (b.drop(buffer)) {
            if (b != binding || count == buffers.length) {
                flush();
                binding = b;
            }
            buffers[count++] = buffer;
        }
    }

    /** Hands every collected buffer back to its pool. */
    void flush() {
        if (count > 0) {
            int n = count;
            count = 0;
            binding.recycle(buffers, n);
        }
    }
}
