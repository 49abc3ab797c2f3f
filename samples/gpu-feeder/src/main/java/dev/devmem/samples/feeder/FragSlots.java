package dev.devmem.samples.feeder;

import dev.devmem.api.DevmemFragBatch;
import dev.devmem.api.FragKind;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The frags the feeder holds, one slot each, with a reference count: one reference per (frag,
 * record) piece of a scatter list. A frag that two records share (a record boundary inside it) is
 * released when the device is done with both pieces, once, and never before.
 *
 * <p>Slots are taken on the receive thread ({@link #take}) and dropped on the device's completion
 * thread ({@link #drop}). Their fields are written before the scatter list that names them is handed
 * to the device, so the device sees them. The capacity is the token budget: the library never lets
 * more frags than that be outstanding, so running out of slots means its invariant broke, and that is
 * reported, not waited for.
 */
final class FragSlots {
    private final DevmemFragBatch[] batch;
    private final int[] index;
    private final FragKind[] kind;
    private final long[] dmabufOffset;
    private final MemorySegment[] host;
    private final AtomicIntegerArray refs;
    /** Free slot ids: a stack guarded by {@code this}; the receive thread pops, completions push. */
    private final int[] free;
    private int freeTop;
    private final AtomicLong taken = new AtomicLong();
    private final AtomicLong released = new AtomicLong();
    private final AtomicLong overReleases = new AtomicLong();

    FragSlots(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity must be positive, was " + capacity);
        }
        batch = new DevmemFragBatch[capacity];
        index = new int[capacity];
        kind = new FragKind[capacity];
        dmabufOffset = new long[capacity];
        host = new MemorySegment[capacity];
        refs = new AtomicIntegerArray(capacity);
        free = new int[capacity];
        for (int i = 0; i < capacity; i++) {
            free[i] = capacity - 1 - i;
        }
        freeTop = capacity;
    }

    int capacity() {
        return free.length;
    }

    /**
     * Holds frag {@code i} of {@code b} for {@code pieces} scatter-list pieces. {@code hostView} is
     * its bytes when the device reads through the host, else null.
     */
    int take(DevmemFragBatch b, int i, int pieces, MemorySegment hostView) {
        int slot;
        synchronized (this) {
            if (freeTop == 0) {
                throw new IllegalStateException("more than " + free.length
                        + " frags held: the token budget should have stopped the receive before this");
            }
            slot = free[--freeTop];
        }
        batch[slot] = b;
        index[slot] = i;
        kind[slot] = b.kind(i);
        dmabufOffset[slot] = b.offset(i);
        host[slot] = hostView;
        refs.set(slot, pieces);
        taken.incrementAndGet();
        return slot;
    }

    FragKind kind(int slot) {
        return kind[slot];
    }

    long dmabufOffset(int slot) {
        return dmabufOffset[slot];
    }

    MemorySegment host(int slot) {
        return host[slot];
    }

    /**
     * Drops one reference to each slot in {@code slots[0..count)}; a frag whose last reference this
     * was is released to the library. A reference dropped more often than it was taken is counted
     * in {@link #overReleases()} and does not release anything a second time.
     */
    void drop(int[] slots, int count) {
        int freed = 0;
        int[] toFree = null;
        DevmemFragBatch[] batches = null;
        int[] indexes = null;
        for (int k = 0; k < count; k++) {
            int slot = slots[k];
            int left = refs.decrementAndGet(slot);
            if (left == 0) {
                if (toFree == null) {
                    toFree = new int[count - k];
                    batches = new DevmemFragBatch[count - k];
                    indexes = new int[count - k];
                }
                batches[freed] = batch[slot];
                indexes[freed] = index[slot];
                batch[slot] = null;
                host[slot] = null;
                toFree[freed++] = slot;
            } else if (left < 0) {
                refs.incrementAndGet(slot);
                overReleases.incrementAndGet();
            }
        }
        if (freed == 0) {
            return;
        }
        // Slots first, frags second: the library may deliver new frags as soon as these are back, and
        // each of them needs a slot; so a slot is never in use for a frag the library counts as returned.
        synchronized (this) {
            System.arraycopy(toFree, 0, free, freeTop, freed);
            freeTop += freed;
        }
        released.addAndGet(freed);
        for (int k = 0; k < freed; k++) {
            batches[k].release(indexes[k]);
        }
    }

    /** Frags taken so far. */
    long taken() {
        return taken.get();
    }

    /** Frags released to the library so far. */
    long released() {
        return released.get();
    }

    /** Frags held now. */
    long held() {
        return taken.get() - released.get();
    }

    /** References dropped more often than taken (a bug if ever non-zero). */
    long overReleases() {
        return overReleases.get();
    }
}
