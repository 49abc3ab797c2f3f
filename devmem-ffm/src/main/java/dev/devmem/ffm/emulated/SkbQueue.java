package dev.devmem.ffm.emulated;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The receive queue of one emulated socket: its skbs in stream order (a ring), the linear slab their
 * header-split failures copy into, and the buffer references they hold. Eating an skb drops its
 * references the way {@code tcp_eat_recv_skb} does. Used by the socket's one thread.
 */
final class SkbQueue {
    private static final int LINEAR_SLOTS = 64;

    private final BufferReturns returns;
    private final int headerBufferSize;
    private EmulatedSkb[] ring = new EmulatedSkb[16]; // a power of two
    private int head;
    private int count;
    private EmulatedSkb spare;

    /** Linear (header) areas of queued skbs: LINEAR_SLOTS slots of headerBufferSize bytes. */
    final MemorySegment linearSlab;
    private final int[] linearFree = new int[LINEAR_SLOTS];
    private int linearFreeCount;

    SkbQueue(int headerBufferSize, BufferReturns returns, Arena arena) {
        this.headerBufferSize = headerBufferSize;
        this.returns = returns;
        this.linearSlab = arena.allocate((long) headerBufferSize * LINEAR_SLOTS, 8);
        for (int i = 0; i < LINEAR_SLOTS; i++) {
            linearFree[i] = LINEAR_SLOTS - 1 - i;
        }
        linearFreeCount = LINEAR_SLOTS;
    }

    int count() {
        return count;
    }

    EmulatedSkb at(int i) {
        return ring[(head + i) & (ring.length - 1)];
    }

    boolean hasLinearSlot() {
        return linearFreeCount > 0;
    }

    int takeLinearSlot() {
        return linearFree[--linearFreeCount];
    }

    void freeLinearSlot(int slot) {
        linearFree[linearFreeCount++] = slot;
    }

    long linearOffset(int slot) {
        return (long) slot * headerBufferSize;
    }

    EmulatedSkb newSkb() {
        EmulatedSkb s = spare;
        if (s != null) {
            spare = null;
            return s;
        }
        return new EmulatedSkb(headerBufferSize);
    }

    void append(EmulatedSkb skb) {
        if (count == ring.length) {
            EmulatedSkb[] bigger = new EmulatedSkb[ring.length * 2];
            for (int i = 0; i < count; i++) {
                bigger[i] = ring[(head + i) & (ring.length - 1)];
            }
            ring = bigger;
            head = 0;
        }
        ring[(head + count) & (ring.length - 1)] = skb;
        count++;
    }

    /**
     * Applies the buffer references of the tokens the last call issued for frags of skbs that are
     * still queued (a partly consumed head, or skbs walked with {@code MSG_PEEK}).
     *
     * <p>Why references are deferred: in {@code tcp_recvmsg_dmabuf} each token takes a reference on
     * its net_iov and eating the skb drops the skb's one: two updates of the buffer's count per frag
     * that cancel out, each a random access into the pool's count array. Here a token's reference is
     * counted in its skb during the call and applied when the skb is eaten ({@link #free}) or, for
     * skbs that stay queued, before the call returns. Nothing else can touch these buffers meanwhile
     * (their references all belong to this socket, and the calling thread is inside recvmsg), so at
     * every return from recvmsg the counts are exactly the kernel's.
     */
    void settleTokenRefs() {
        for (int k = 0; k < count; k++) {
            EmulatedSkb skb = at(k);
            if (!skb.pendingRefs) {
                continue;
            }
            for (int i = 0; i < skb.nrFrags; i++) {
                int n = skb.tokenRefs[i];
                if (n > 0) {
                    skb.tokenRefs[i] = 0;
                    skb.binding.ref(skb.frag[i], n);
                }
            }
            skb.pendingRefs = false;
        }
    }

    /** {@code tcp_eat_recv_skb}: frees the head skb, dropping its buffer references. */
    void eatHead() {
        EmulatedSkb skb = ring[head];
        ring[head] = null;
        head = (head + 1) & (ring.length - 1);
        count--;
        free(skb);
    }

    /** Eats every queued skb (the socket is destroyed). */
    void clear() {
        while (count > 0) {
            eatHead();
        }
    }

    /**
     * Frees a consumed skb: each frag loses the skb's reference and gains those of the tokens this
     * call issued for it, in one update per frag, or none when the two cancel out (one token
     * per frag, the common case: the token takes over the skb's reference).
     */
    private void free(EmulatedSkb skb) {
        EmulatedRxBinding b = skb.binding;
        for (int i = 0; i < skb.nrFrags; i++) {
            int delta = skb.tokenRefs[i] - 1;
            skb.tokenRefs[i] = 0;
            if (delta < 0) {
                returns.drop(b, skb.frag[i]);
            } else if (delta > 0) {
                b.ref(skb.frag[i], delta);
            }
        }
        skb.pendingRefs = false;
        returns.flush();
        if (skb.linearSlot >= 0) {
            freeLinearSlot(skb.linearSlot);
        }
        skb.reset();
        spare = skb;
    }
}
