package dev.devmem.reactor.tx;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The state behind one leased {@code TxSlice}: its region of a {@link RegionRing}, the lease state
 * (leased, queued with the sender, done) and what the sender's loop thread counts while it sends it.
 * The public slice is its face; the sender works on this, so none of it is exported.
 */
public final class Region {
    static final int LEASED = 0;
    static final int QUEUED = 1;
    static final int DONE = 2;
    private static final VarHandle STATE;

    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(Region.class, "state", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final RegionRing ring;
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

    Region(RegionRing ring, long offset, long length) {
        this.ring = ring;
        this.offset = offset;
        this.length = length;
    }

    RegionRing ring() {
        return ring;
    }

    public long offset() {
        return offset;
    }

    public long length() {
        return length;
    }

    public boolean isLeased() {
        return state == LEASED;
    }

    /** The region's bytes in the host view, while it is leased; see {@code TxSlice#segment()}. */
    public MemorySegment segment() {
        if (state != LEASED) {
            throw new IllegalStateException("slice [" + offset + ", +" + length + ") is no longer leased: after it"
                    + " was sent or released its memory belongs to the sender or the next lease");
        }
        return ring.view(offset, length);
    }

    /** Gives a leased region back unsent. Does nothing once the sender has it (it frees it at completion). */
    public void release() {
        if (STATE.compareAndSet(this, LEASED, DONE)) {
            ring.free(this);
        }
    }

    /** The sender takes the region; false when it is not leased (sent twice, or released). */
    boolean take() {
        return STATE.compareAndSet(this, LEASED, QUEUED);
    }

    /** The sender is done with it (completed, or never sent after a cancel): the region is free. */
    void finish() {
        if (STATE.compareAndSet(this, QUEUED, DONE)) {
            ring.free(this);
        }
    }

    int state() {
        return state;
    }

    /** As its slice prints: the sender's errors name it. */
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
