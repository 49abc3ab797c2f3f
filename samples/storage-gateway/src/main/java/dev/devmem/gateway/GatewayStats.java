package dev.devmem.gateway;

import java.util.concurrent.atomic.AtomicLong;

/** Gateway-wide counters, safe from any thread. */
public final class GatewayStats {
    private final AtomicLong outstanding = new AtomicLong();
    private final AtomicLong maxOutstanding = new AtomicLong();
    private final AtomicLong objects = new AtomicLong();
    private final AtomicLong bytes = new AtomicLong();
    private final AtomicLong failures = new AtomicLong();

    void outstanding(long delta) {
        long now = outstanding.addAndGet(delta);
        if (delta > 0) {
            maxOutstanding.accumulateAndGet(now, Math::max);
        }
    }

    void stored(long size) {
        objects.incrementAndGet();
        bytes.addAndGet(size);
    }

    void failed() {
        failures.incrementAndGet();
    }

    /** Frags received by every flow and not yet given back (queued for the disk or waiting for a sync). */
    public long outstandingFrags() {
        return outstanding.get();
    }

    /** The highest {@link #outstandingFrags()} seen. */
    public long maxOutstandingFrags() {
        return maxOutstanding.get();
    }

    public long objectsStored() {
        return objects.get();
    }

    public long bytesStored() {
        return bytes.get();
    }

    public long flowsFailed() {
        return failures.get();
    }
}
