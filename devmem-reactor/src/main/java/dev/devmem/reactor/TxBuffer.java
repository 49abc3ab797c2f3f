package dev.devmem.reactor;

import dev.devmem.api.DevmemException;
import dev.devmem.reactor.tx.Region;
import dev.devmem.reactor.tx.RegionRing;
import reactor.core.publisher.Mono;

import java.util.Optional;
import java.util.function.Function;

/**
 * The TX binding's dmabuf as leasable {@link TxSlice}s, for one {@link DevmemSender} subscription.
 *
 * <p>A ring allocator: regions are handed out in order from the start of the dmabuf, wrapping to its
 * start when the end has no room (a region is always contiguous: it is one iov of one send), and a
 * region becomes free only when its slice is done (its sends completed, or it was released unsent).
 * Freed regions are reclaimed from the oldest on; one freed out of order waits for the ones before
 * it. {@link #lease(long)} waits for room, first come first served.
 *
 * <p>Thread-safe: leases come from any thread, frees from the sender's I/O thread. A waiting lease
 * completes on the thread that freed the room (usually the I/O thread): move heavy filling elsewhere
 * with {@code publishOn}.
 */
public final class TxBuffer {
    private final RegionRing ring;
    /** A granted region's slice, made once rather than per lease. */
    private final Function<Region, TxSlice> face = r -> new TxSlice(this, r);

    TxBuffer(RegionRing ring) {
        this.ring = ring;
    }

    /** The dmabuf size. */
    public long capacity() {
        return ring.capacity();
    }

    /** The TX binding id (0 on the copy fallback). */
    public int bindingId() {
        return ring.bindingId();
    }

    /** Whether slices have a host view ({@link TxSlice#segment()}); false for GPU memory. */
    public boolean hostMappable() {
        return ring.hostMappable();
    }

    /**
     * Why this subscription sends from host memory instead of device memory (the kernel's refusal of
     * bind-tx, turned into a host binding by {@link DevmemSender#copyFallback(boolean)}); empty on devmem.
     */
    public Optional<DevmemException> fallbackCause() {
        return ring.fallbackCause();
    }

    /**
     * Leases {@code length} contiguous bytes now, or returns {@code null} when there is no room (or
     * leases are waiting).
     */
    public TxSlice tryLease(long length) {
        Region r = ring.tryLease(length);
        return r == null ? null : face.apply(r);
    }

    /**
     * Leases {@code length} contiguous bytes, waiting for earlier slices to complete when there is no
     * room. Errors when the buffer closes first. A lease cancelled after it got its slice gives the
     * slice back.
     */
    public Mono<TxSlice> lease(long length) {
        return ring.lease(length, face);
    }

    /** Bytes of regions not yet reclaimed: leased, with the sender, or freed behind an older region. */
    public long leasedBytes() {
        return ring.leasedBytes();
    }

    /** Slices not yet reclaimed. */
    public int outstandingSlices() {
        return ring.outstandingSlices();
    }

    /** Leases granted so far. */
    public long leases() {
        return ring.leases();
    }

    /** Leases that had to wait for room (the buffer, not the in-flight cap, was holding the sender back). */
    public long waits() {
        return ring.waits();
    }

    /** Leases waiting for room. */
    public int waitingLeases() {
        return ring.waitingLeases();
    }

    @Override
    public String toString() {
        return ring.toString();
    }
}
