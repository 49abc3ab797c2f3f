package dev.devmem.ffm.emulated;

/** One emulated sk_buff: an optional linear part (a slot of its queue's linear slab) and up to MAX_SKB_FRAGS frags in rx buffers. */
final class EmulatedSkb {
    final int[] frag = new int[EmulatedNicConfig.MAX_SKB_FRAGS];
    final int[] fragLen = new int[EmulatedNicConfig.MAX_SKB_FRAGS];
    /** Per frag: tokens issued in the current recvmsg whose buffer reference is not applied yet. */
    final int[] tokenRefs = new int[EmulatedNicConfig.MAX_SKB_FRAGS];
    /** Some {@link #tokenRefs} entry may be non-zero. */
    boolean pendingRefs;
    private final int slotSize;
    EmulatedRxBinding binding;
    int linearSlot = -1;
    int headLen;
    int nrFrags;
    long len;
    long consumed;

    EmulatedSkb(int slotSize) {
        this.slotSize = slotSize;
    }

    long linearOffset() {
        return linearSlot < 0 ? 0 : (long) linearSlot * slotSize;
    }

    void reset() {
        binding = null;
        linearSlot = -1;
        headLen = 0;
        nrFrags = 0;
        len = 0;
        consumed = 0;
    }
}
