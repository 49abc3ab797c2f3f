package dev.devmem.ffm.rx;

import dev.devmem.api.FragKind;

import java.lang.foreign.MemorySegment;

/**
 * The host receive memory of one socket: a fixed set of slabs that recvmsg's iov points into, and
 * the keys of the LINEAR/HOST fragments that pin them.
 *
 * <p>Why slabs with reference counts: a fragment's bytes must stay put until the application
 * releases it, and nothing may be allocated per fragment. The pool fills one slab at a time; each
 * fragment received into a slab holds one reference; a slab is written again only once every
 * fragment in it has been released. When no slab has room the socket stops reading (backpressure
 * reaches the sender through the TCP window) until a release frees one.
 *
 * <p>Why per-fragment keys and not just a slab index: releasing the same fragment twice must not
 * drop somebody else's reference. A key names a slot (one outstanding fragment) plus a generation
 * that changes each time the slot is reused, so a stale or repeated key is recognised and ignored.
 *
 * <p>Not thread-safe: owned by the socket's I/O thread.
 */
final class HostSlabPool {
    /** Keys are {@code generation << SLOT_BITS | slot}. */
    static final int SLOT_BITS = 20;
    static final int MAX_SLOTS = 1 << SLOT_BITS;
    private static final int SLOT_MASK = MAX_SLOTS - 1;
    private static final int GEN_MASK = (1 << (32 - SLOT_BITS)) - 1;
    private static final byte FREE = -1;

    private final MemorySegment[] slabs;
    private final long slabSize;
    private final long preferredSpace;
    private final long[] fill;
    private final int[] refs;
    private int idleSlabs;
    private int current;

    private final int[] slotSlab;
    private final int[] slotGen;
    private final byte[] slotKind;
    private final int[] freeSlots;
    private int freeCount;

    /**
     * @param memory   {@code slabCount * slabSize} bytes of native memory the pool carves slabs from
     * @param maxFrags how many LINEAR/HOST fragments may be outstanding at once
     */
    HostSlabPool(MemorySegment memory, int slabCount, long slabSize, int maxFrags) {
        if (maxFrags < 1 || maxFrags > MAX_SLOTS) {
            throw new IllegalArgumentException("maxFrags must be in [1, " + MAX_SLOTS + "], was " + maxFrags);
        }
        if (memory.byteSize() < slabCount * slabSize) {
            throw new IllegalArgumentException("memory of " + memory.byteSize() + " bytes is smaller than "
                    + slabCount + " slabs of " + slabSize);
        }
        this.slabs = new MemorySegment[slabCount];
        for (int i = 0; i < slabCount; i++) {
            slabs[i] = memory.asSlice(i * slabSize, slabSize);
        }
        this.slabSize = slabSize;
        // Below this much room, move to an idle slab if there is one: the iov length caps what one
        // recvmsg consumes, DMABUF bytes included, so a nearly full slab would throttle the stream.
        this.preferredSpace = slabSize / 4;
        this.fill = new long[slabCount];
        this.refs = new int[slabCount];
        this.idleSlabs = slabCount;
        this.slotSlab = new int[maxFrags];
        this.slotGen = new int[maxFrags];
        this.slotKind = new byte[maxFrags];
        this.freeSlots = new int[maxFrags];
        reset();
    }

    /** Forgets every fragment and empties every slab (the socket is closing). */
    void reset() {
        java.util.Arrays.fill(fill, 0);
        java.util.Arrays.fill(refs, 0);
        idleSlabs = slabs.length;
        current = 0;
        java.util.Arrays.fill(slotKind, FREE);
        for (int i = 0; i < freeSlots.length; i++) {
            freeSlots[i] = freeSlots.length - 1 - i;
            slotGen[i]++;
        }
        freeCount = freeSlots.length;
    }

    /** Whether a receive can make progress now: a free key and a slab with room. O(1). */
    boolean hasSpace() {
        return freeCount > 0 && (idleSlabs > 0 || fill[current] < slabSize);
    }

    /**
     * Makes the current slab the best one to receive into: reclaims it if every fragment in it was
     * released, or moves to an idle slab when it is nearly full. Returns the bytes writable at
     * {@link #writeOffset()}, {@code 0} when nothing can be received until a release.
     */
    long prepare() {
        if (freeCount == 0) {
            return 0;
        }
        if (refs[current] == 0) {
            fill[current] = 0;
        }
        // An idle current slab was just emptied, so this only moves off a slab that is still pinned.
        if (slabSize - fill[current] < preferredSpace && idleSlabs > 0) {
            for (int k = 1; k < slabs.length; k++) {
                int s = (current + k) % slabs.length;
                if (refs[s] == 0) {
                    current = s;
                    fill[s] = 0;
                    break;
                }
            }
        }
        return slabSize - fill[current];
    }

    MemorySegment currentSlab() {
        return slabs[current];
    }

    /** Where the next received byte goes in {@link #currentSlab()}. */
    long writeOffset() {
        return fill[current];
    }

    int freeKeys() {
        return freeCount;
    }

    /** Takes one reference on the current slab for a fragment of {@code kind}; returns its key. */
    int pin(FragKind kind) {
        if (freeCount == 0) {
            throw new IllegalStateException("no free host fragment key");
        }
        int slot = freeSlots[--freeCount];
        slotSlab[slot] = current;
        slotKind[slot] = (byte) kind.ordinal();
        if (refs[current]++ == 0) {
            idleSlabs--;
        }
        return (slotGen[slot] & GEN_MASK) << SLOT_BITS | slot;
    }

    /** Marks {@code bytes} of the current slab, from {@link #writeOffset()}, as received. */
    void advance(long bytes) {
        if (bytes < 0 || fill[current] + bytes > slabSize) {
            throw new IllegalArgumentException("advance by " + bytes + " at " + fill[current] + " of " + slabSize);
        }
        fill[current] += bytes;
    }

    /**
     * Drops the reference of the fragment with this key. Returns {@code false}, changing nothing,
     * when the key is not outstanding (never issued, already released, or of another kind).
     */
    boolean release(FragKind kind, int key) {
        int slot = key & SLOT_MASK;
        if (slot >= slotKind.length
                || slotKind[slot] != kind.ordinal()
                || (slotGen[slot] & GEN_MASK) != (key >>> SLOT_BITS)) {
            return false;
        }
        int slab = slotSlab[slot];
        slotKind[slot] = FREE;
        slotGen[slot]++;
        freeSlots[freeCount++] = slot;
        if (--refs[slab] == 0) {
            idleSlabs++;
        }
        return true;
    }

    /** LINEAR/HOST fragments not yet released. */
    int outstanding() {
        return slotKind.length - freeCount;
    }

    /** Slabs that at least one unreleased fragment pins. */
    int slabsInUse() {
        return slabs.length - idleSlabs;
    }

    int slabCount() {
        return slabs.length;
    }
}
