package dev.devmem.reactor;

import dev.devmem.reactor.tx.Region;

import java.lang.foreign.MemorySegment;

/**
 * A region of a {@link TxBuffer} leased for one send: fill it, then hand it to the
 * {@link DevmemSender} by emitting it from the slice publisher. From then on the region belongs to
 * the sender until the kernel reports every byte of it sent ({@link TxCompletion}); only then can it be
 * leased again. That is what makes reuse before completion hard: {@link #segment()} works only while
 * the slice is leased, and the buffer never hands the region out twice.
 *
 * <p>States: leased (yours: fill it, or {@link #release()} it unsent), queued (the sender has it),
 * done (sent and completed, or released), and then reclaimed by the buffer. A slice is emitted once;
 * emitting it twice, or one of another buffer, fails the send.
 */
public final class TxSlice {
    private final TxBuffer buffer;
    private final Region region;

    TxSlice(TxBuffer buffer, Region region) {
        this.buffer = buffer;
        this.region = region;
    }

    public TxBuffer buffer() {
        return buffer;
    }

    /** The region's offset in the dmabuf. */
    public long offset() {
        return region.offset();
    }

    public long length() {
        return region.length();
    }

    /** Whether it is still yours to fill (not yet handed to the sender, not released). */
    public boolean isLeased() {
        return region.isLeased();
    }

    /**
     * The region's bytes in the dmabuf's host view, to fill before sending.
     *
     * @throws IllegalStateException         the slice was already handed to the sender or released: its
     *                                       memory may be in flight, or leased to someone else
     * @throws UnsupportedOperationException the dmabuf has no host view (GPU memory): fill it with the
     *                                       device's own API at {@link #offset()}
     */
    public MemorySegment segment() {
        return region.segment();
    }

    /** Gives a leased slice back unsent. Does nothing once the sender has it (it frees it at completion). */
    public void release() {
        region.release();
    }

    /** What the sender sends: the region and its state (the slice is only their face). */
    Region region() {
        return region;
    }

    @Override
    public String toString() {
        return region.toString();
    }
}
