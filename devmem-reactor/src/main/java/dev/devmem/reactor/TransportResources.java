package dev.devmem.reactor;

import dev.devmem.api.DevmemException;
import reactor.core.scheduler.Scheduler;
import reactor.util.Logger;

/**
 * What a receiver's scope and a sender's session both acquire first and release last: the I/O loops
 * (shared, or their own), and the timer; plus the one way both close a resource on teardown.
 */
final class TransportResources {
    final TransportConfig config;
    final Scheduler timer;
    private DevmemLoops loops;
    private boolean ownsLoops;

    TransportResources(TransportConfig config) {
        this.config = config;
        this.timer = config.timerOrDefault();
    }

    /** Blocking: the shared loops, or loops of this subscription's own. */
    DevmemLoops acquireLoops() throws DevmemException {
        loops = config.loops();
        if (loops == null) {
            loops = DevmemLoops.create(config.backend(), config.ioThreads());
            ownsLoops = true;
        } else if (loops.backend() != config.backend()) {
            throw new IllegalArgumentException("the loops serve backend " + loops.backend().name()
                    + ", the " + config.tagName() + " transport uses " + config.backend().name());
        }
        return loops;
    }

    DevmemLoops loops() {
        return loops;
    }

    /** Last in every teardown: loops of this subscription's own stop. */
    void releaseLoops() {
        if (ownsLoops && loops != null) {
            loops.dispose();
        }
    }

    /** Closes one resource; a failure is logged, and the teardown goes on. */
    static void close(Logger log, String what, Runnable r) {
        try {
            r.run();
        } catch (RuntimeException e) {
            log.warn("devmem: closing the {} failed", what, e);
        }
    }
}
