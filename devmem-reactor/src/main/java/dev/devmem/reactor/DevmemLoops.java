package dev.devmem.reactor;

import dev.devmem.api.DevmemException;
import dev.devmem.api.spi.DevmemBackend;
import dev.devmem.api.spi.IoWaiter;
import dev.devmem.reactor.loop.LoopGroup;
import reactor.core.Disposable;

import java.util.Objects;

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
    private final LoopGroup group;

    private DevmemLoops(LoopGroup group) {
        this.group = group;
    }

    /** Starts {@code threads} loops for {@code backend}'s sockets. */
    public static DevmemLoops create(DevmemBackend backend, int threads) throws DevmemException {
        Objects.requireNonNull(backend, "backend");
        Args.atLeastOne("threads", threads);
        return new DevmemLoops(LoopGroup.start(backend, threads));
    }

    public DevmemBackend backend() {
        return group.backend();
    }

    public int threads() {
        return group.threads();
    }

    /** The loops themselves, for the subscriptions that run on them (not part of the API). */
    LoopGroup group() {
        return group;
    }

    /** Stops the loops; connections still on them are closed and their subscribers get an error. */
    @Override
    public void dispose() {
        group.dispose();
    }

    @Override
    public boolean isDisposed() {
        return group.isDisposed();
    }

    /** Waits (bounded) for the loop threads to end after {@link #dispose()}; for tests and shutdown hooks. */
    public boolean awaitTermination(java.time.Duration timeout) throws InterruptedException {
        return group.awaitTermination(timeout);
    }
}
