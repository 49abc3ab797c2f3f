package dev.devmem.reactor.rx;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The token budget of one binding, owned by its scope and shared by all of its connections: the
 * dmabuf pool it protects belongs to the binding, so N connections of a {@code listen()} may together
 * hold at most the budget, not N times it.
 *
 * <p>A connection takes credit before each receive (at most what it may read) and gives back what it
 * did not use at once, and what its frags free as they are handed back to the socket, in one step per
 * loop pass. A connection that finds no credit waits here and is woken when any connection gives some
 * back. Lock-free; no allocation except a queue node when a connection starts to wait.
 */
final class TokenCredit {
    private final int budget;
    private final AtomicInteger available;
    private final ConcurrentLinkedQueue<Runnable> waiting = new ConcurrentLinkedQueue<>();

    TokenCredit(int budget) {
        this.budget = budget;
        this.available = new AtomicInteger(budget);
    }

    int budget() {
        return budget;
    }

    /** Credit not held by any connection. */
    int available() {
        return available.get();
    }

    /** Takes up to {@code want}; returns how much (0 when none is left). */
    int take(int want) {
        while (true) {
            int a = available.get();
            if (a <= 0) {
                return 0;
            }
            int t = Math.min(a, want);
            if (available.compareAndSet(a, a - t)) {
                return t;
            }
        }
    }

    /** Gives {@code n} back and wakes every connection waiting for credit. */
    void give(int n) {
        if (n <= 0) {
            return;
        }
        available.addAndGet(n);
        Runnable w;
        while ((w = waiting.poll()) != null) {
            w.run();
        }
    }

    /**
     * {@code wake} runs at the next {@link #give}. The caller takes again after this, as credit may
     * have come back in between.
     */
    void await(Runnable wake) {
        waiting.add(wake);
    }
}
