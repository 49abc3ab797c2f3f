package dev.devmem.reactor.loop;

import dev.devmem.api.DevmemException;
import dev.devmem.api.spi.DevmemBackend;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A group of started {@link IoLoop}s of one backend, handing them out round-robin. The public
 * {@code DevmemLoops} is its face for loops a caller shares; a subscription without shared loops
 * starts a group of its own ({@link TransportResources}).
 */
public final class LoopGroup {
    private final DevmemBackend backend;
    private final IoLoop[] loops;
    private final AtomicInteger next = new AtomicInteger();
    private final AtomicBoolean disposed = new AtomicBoolean();

    private LoopGroup(DevmemBackend backend, IoLoop[] loops) {
        this.backend = backend;
        this.loops = loops;
    }

    /**
     * Starts {@code threads} loops, each with a waiter of {@code backend}; when a waiter cannot be
     * made, the loops made so far are stopped and the failure is rethrown.
     */
    public static LoopGroup start(DevmemBackend backend, int threads) throws DevmemException {
        IoLoop[] loops = new IoLoop[threads];
        try {
            for (int i = 0; i < threads; i++) {
                loops[i] = new IoLoop(backend.newIoWaiter());
            }
        } catch (DevmemException | RuntimeException e) {
            for (IoLoop l : loops) {
                if (l != null) {
                    l.start();
                    l.stop();
                }
            }
            throw e;
        }
        for (IoLoop l : loops) {
            l.start();
        }
        return new LoopGroup(backend, loops);
    }

    public DevmemBackend backend() {
        return backend;
    }

    public int threads() {
        return loops.length;
    }

    /** The loop for the next channel (round-robin). */
    public IoLoop next() {
        return loops[Math.floorMod(next.getAndIncrement(), loops.length)];
    }

    /** Stops the loops; channels still on them are closed and their subscribers get an error. */
    public void dispose() {
        if (disposed.compareAndSet(false, true)) {
            for (IoLoop l : loops) {
                l.stop();
            }
        }
    }

    public boolean isDisposed() {
        return disposed.get();
    }

    /** Waits (bounded) for the loop threads to end after {@link #dispose()}. */
    public boolean awaitTermination(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        for (IoLoop l : loops) {
            long left = Math.max(0, (deadline - System.nanoTime()) / 1_000_000);
            if (!l.awaitTermination(left)) {
                return false;
            }
        }
        return true;
    }
}
