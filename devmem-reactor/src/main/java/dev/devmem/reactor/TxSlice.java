package dev.devmem.reactor;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

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
    static final int LEASED = 0;
    static final int QUEUED = 1;
    static final int DONE = 2;
    private static final VarHandle STATE;

    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(TxSlice.class, "state", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final TxBuffer buffer;
    private final long offset;
    private final long length;
    private volatile int state = LEASED;

    // the sender's loop thread only
    long sequence = -1;
    long streamOffset;
    long sent;
    long completed;
    int sends;
    boolean copied;

    TxSlice(TxBuffer buffer, long offset, long length) {
        this.buffer = buffer;
        this.offset = offset;
        this.length = length;
    }

    public TxBuffer buffer() {
        return buffer;
    }

    /** The region's offset in the dmabuf. */
    public long offset() {
        return offset;
    }

    public long length() {
        return length;
    }

    /** Whether it is still yours to fill (not yet handed to the sender, not released). */
    public boolean isLeased() {
        return state == LEASED;
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
        if (state != LEASED) {
            throw new IllegalStateException("slice [" + offset + ", +" + length + ") is no longer leased: after it"
                    + " was sent or released its memory belongs to the sender or the next lease");
        }
        return buffer.view(offset, length);
    }

    /** Gives a leased slice back unsent. Does nothing once the sender has it (it frees it at completion). */
    public void release() {
        if (STATE.compareAndSet(this, LEASED, DONE)) {
            buffer.free(this);
        }
    }

    /** The sender takes the slice; false when it is not leased (sent twice, or released). */
    boolean take() {
        return STATE.compareAndSet(this, LEASED, QUEUED);
    }

    /** The sender is done with it (completed, or never sent after a cancel): the region is free. */
    void finish() {
        if (STATE.compareAndSet(this, QUEUED, DONE)) {
            buffer.free(this);
        }
    }

    int state() {
        return state;
    }

    @Override
    public String toString() {
        return "TxSlice[" + offset + ", +" + length + (sequence >= 0 ? ", #" + sequence : "") + ", "
                + switch (state) {
                    case LEASED -> "leased";
                    case QUEUED -> "with the sender";
                    default -> "done";
                } + "]";
    }
}
