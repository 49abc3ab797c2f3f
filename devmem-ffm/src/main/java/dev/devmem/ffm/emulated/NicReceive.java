package dev.devmem.ffm.emulated;

import java.util.SplittableRandom;

/**
 * The NIC side of one emulated flow: turns the next packet of its {@link PacketSource} into an skb
 * at the tail of the socket's {@link SkbQueue}, in free rx buffers of the queue's dmabuf, failing
 * header split for a seeded fraction of packets; or stalls when the pool has no free buffer.
 */
final class NicReceive {
    static final int INGESTED = 1;
    static final int EOF = 0;
    static final int PLAIN = Integer.MIN_VALUE;
    static final int STALL = Integer.MIN_VALUE + 1;

    private final EmulatedQueue queue;
    private final PacketSource source;
    private final SkbQueue skbs;
    private final BufferReturns returns;
    private final EndpointCounters counters;
    private final int fragSize;
    private final int maxSkbSize;
    /** Rx buffers one skb takes at most: maxSkbSize in frags, capped at MAX_SKB_FRAGS. */
    private final int skbFrags;
    private final int headerBufferSize;
    private final double splitFailureRate;
    private final SplittableRandom rng;
    private final int[] taken = new int[EmulatedNicConfig.MAX_SKB_FRAGS];
    private volatile boolean stalled;

    NicReceive(EmulatedNicConfig cfg, EmulatedQueue queue, PacketSource source, SkbQueue skbs, BufferReturns returns,
               EndpointCounters counters) {
        this.queue = queue;
        this.source = source;
        this.skbs = skbs;
        this.returns = returns;
        this.counters = counters;
        this.fragSize = cfg.fragSize();
        this.maxSkbSize = cfg.maxSkbSize();
        this.skbFrags = (int) Math.min(EmulatedNicConfig.MAX_SKB_FRAGS, (maxSkbSize + (long) fragSize - 1) / fragSize);
        this.headerBufferSize = cfg.headerBufferSize();
        this.splitFailureRate = cfg.headerSplitFailureRate();
        this.rng = new SplittableRandom(cfg.seed());
    }

    /** Whether the last ingest found no free rx buffer (then only returned buffers bring progress). */
    boolean stalled() {
        return stalled;
    }

    /**
     * The NIC receives one packet for this flow into a new skb at the tail of the queue. Returns
     * {@link #INGESTED}, {@link #EOF}, {@link #PLAIN} (the queue has no dmabuf: the data is ordinary),
     * {@link #STALL} (no free rx buffer), or a negative errno of the real socket.
     */
    int ingest() {
        EmulatedRxBinding b = queue.binding();
        if (b == null) {
            return PLAIN;
        }
        if (source.exhausted()) {
            return EOF;
        }
        int n = b.take(taken, skbFrags, queue);
        if (n < 0) {
            return queue.binding() == null ? PLAIN : ingest(); // unbound under us: look again
        }
        if (n == 0) {
            stalled = true;
            counters.stall();
            return STALL;
        }
        if (stalled) {
            stalled = false;
        }
        boolean failSplit = splitFailureRate > 0 && rng.nextDouble() < splitFailureRate && skbs.hasLinearSlot();
        int linearCap = failSplit ? Math.min(headerBufferSize, maxSkbSize) : 0;
        int slot = failSplit ? skbs.takeLinearSlot() : -1;
        long linearAt = slot < 0 ? 0 : skbs.linearOffset(slot);
        long capacity = Math.min(maxSkbSize, linearCap + (long) n * fragSize);

        long got = source.receive(b, taken, n, fragSize, skbs.linearSlab, linearAt, linearCap, capacity);
        if (got <= 0) {
            for (int i = 0; i < n; i++) {
                returns.drop(b, taken[i]);
            }
            returns.flush();
            if (slot >= 0) {
                skbs.freeLinearSlot(slot);
            }
            return got == 0 ? EOF : (int) got;
        }
        EmulatedSkb skb = skbs.newSkb();
        skb.binding = b;
        skb.linearSlot = slot;
        skb.headLen = (int) Math.min(got, linearCap);
        long rest = got - skb.headLen;
        int frags = 0;
        for (int i = 0; i < n; i++) {
            if (rest > 0) {
                int l = (int) Math.min(fragSize, rest);
                skb.frag[frags] = taken[i];
                skb.fragLen[frags] = l;
                frags++;
                rest -= l;
            } else {
                returns.drop(b, taken[i]); // not filled: straight back to the pool
            }
        }
        returns.flush();
        skb.nrFrags = frags;
        skb.len = got;
        skb.consumed = 0;
        if (frags == 0) {
            skb.binding = null; // only linear bytes: a readable skb
        }
        if (failSplit) {
            counters.splitFailure();
        }
        counters.skbBuilt();
        skbs.append(skb);
        return INGESTED;
    }
}
