package dev.devmem.reactor;

import dev.devmem.api.DevmemException;
import dev.devmem.api.spi.DevmemBackend;
import dev.devmem.api.spi.IoWaiter;
import reactor.core.Disposable;

import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A group of I/O loop threads ({@code devmem-io-N}: platform threads, daemon), each with one
 * {@link IoWaiter} of one backend. Connections are spread over the loops round-robin; all of a
 * connection's socket calls and all of its subscriber's signals happen on its loop thread.
 *
 * <p>A receiver without {@linkplain DevmemReceiver#loops(DevmemLoops) shared loops} creates a group
 * for each subscription and stops it when that subscription's resources are all closed. Share one
 * group to keep the thread count fixed; disposing it closes every connection still on it.
 */
public final class DevmemLoops implements Disposable {
    private final DevmemBackend backend;
    private final IoLoop[] loops;
    private final AtomicInteger next = new AtomicInteger();
    private final AtomicBoolean disposed = new AtomicBoolean();

    private DevmemLoops(DevmemBackend backend, IoLoop[] loops) {
        this.backend = backend;
        this.loops = loops;
    }

    /** Starts {@code threads} loops for {@code backend}'s sockets. */
    public static DevmemLoops create(DevmemBackend backend, int threads) throws DevmemException {
        Objects.requireNonNull(backend, "backend");
        Args.atLeastOne("threads", threads);
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
        return new DevmemLoops(backend, loops);
    }

    public DevmemBackend backend() {
        return backend;
    }

    public int threads() {
        return loops.length;
    }

    IoLoop next() {
        return loops[Math.floorMod(next.getAndIncrement(), loops.length)];
    }

    IoLoop loop(int i) {
        return loops[i];
    }

    /** Stops the loops; connections still on them are closed and their subscribers get an error. */
    @Override
    public void dispose() {
        if (disposed.compareAndSet(false, true)) {
            for (IoLoop l : loops) {
                l.stop();
            }
        }
    }

    @Override
    public boolean isDisposed() {
        return disposed.get();
    }

    /** Waits (bounded) for the loop threads to end after {@link #dispose()}; for tests and shutdown hooks. */
    public boolean awaitTermination(java.time.Duration timeout) throws InterruptedException {
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
