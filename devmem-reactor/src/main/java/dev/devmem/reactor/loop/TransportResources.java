package dev.devmem.reactor.loop;

import dev.devmem.api.DevmemException;
import dev.devmem.api.spi.DevmemBackend;
import io.micrometer.core.instrument.MeterRegistry;
import reactor.core.scheduler.Scheduler;
import reactor.util.Logger;

/**
 * What a receiver's scope and a sender's session both acquire first and release last: the I/O loops
 * (shared, or their own), and the timer; plus the one way both close a resource on teardown. Made
 * per subscription by the public facade from its configuration, with everything of it the
 * subscription runs with, so the internals never read the facade.
 */
public final class TransportResources {
    private final DevmemBackend backend;
    private final String name;
    private final MeterRegistry meterRegistry;
    private final Scheduler timer;
    private final long graceNanos;
    private final int ioThreads;
    private final LoopGroup shared;
    private LoopGroup loops;
    private boolean ownsLoops;

    /**
     * @param backend       the platform
     * @param name          the meters' {@code name} tag
     * @param meterRegistry where meters go, or {@code null}
     * @param timer         the flush and grace timer
     * @param graceNanos    how long what the kernel still holds may come back after the end
     * @param ioThreads     loop threads of this subscription's own when none are shared
     * @param shared        shared loops (owned by the caller), or {@code null}
     */
    public TransportResources(DevmemBackend backend, String name, MeterRegistry meterRegistry, Scheduler timer,
                              long graceNanos, int ioThreads, LoopGroup shared) {
        this.backend = backend;
        this.name = name;
        this.meterRegistry = meterRegistry;
        this.timer = timer;
        this.graceNanos = graceNanos;
        this.ioThreads = ioThreads;
        this.shared = shared;
    }

    public DevmemBackend backend() {
        return backend;
    }

    /** The meters' {@code name} tag. */
    public String name() {
        return name;
    }

    public MeterRegistry meterRegistry() {
        return meterRegistry;
    }

    public Scheduler timer() {
        return timer;
    }

    public long graceNanos() {
        return graceNanos;
    }

    /** Blocking: the shared loops, or loops of this subscription's own. */
    public LoopGroup acquireLoops() throws DevmemException {
        loops = shared;
        if (loops == null) {
            loops = LoopGroup.start(backend, ioThreads);
            ownsLoops = true;
        } else if (loops.backend() != backend) {
            throw new IllegalArgumentException("the loops serve backend " + loops.backend().name()
                    + ", the " + name + " transport uses " + backend.name());
        }
        return loops;
    }

    public LoopGroup loops() {
        return loops;
    }

    /** Last in every teardown: loops of this subscription's own stop. */
    public void releaseLoops() {
        if (ownsLoops && loops != null) {
            loops.dispose();
        }
    }

    /** Closes one resource; a failure is logged, and the teardown goes on. */
    public static void close(Logger log, String what, Runnable r) {
        try {
            r.run();
        } catch (RuntimeException e) {
            log.warn("devmem: closing the {} failed", what, e);
        }
    }
}
