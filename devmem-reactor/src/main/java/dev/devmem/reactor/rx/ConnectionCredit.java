package dev.devmem.reactor.rx;

import dev.devmem.reactor.loop.IoLoop;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * One connection's side of its binding's {@link TokenCredit}: what it takes before a receive, what its
 * handed-back frags free (given back once per loop pass, not per frag), and the wake-up of its loop
 * when it had to wait for credit. Loop thread only, but for the wake-up.
 */
final class ConnectionCredit {
    private static final VarHandle WAITING;

    static {
        try {
            WAITING = MethodHandles.lookup().findVarHandle(ConnectionCredit.class, "waiting", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final TokenCredit shared;
    private final IoLoop loop;
    private final Runnable wake = this::onCredit;
    private volatile int waiting;
    /** Frags handed back since the shared credit last got them. */
    private int freed;

    ConnectionCredit(TokenCredit shared, IoLoop loop) {
        this.shared = shared;
        this.loop = loop;
    }

    /**
     * Takes up to {@code want}, after giving back what this connection freed (it may take that again).
     * With none left, the loop is woken by the next connection that gives some back; returns 0 then.
     */
    int take(int want) {
        giveBack();
        int got = shared.take(want);
        if (got == 0) {
            if (waiting == 0 && WAITING.compareAndSet(this, 0, 1)) {
                shared.await(wake);
            }
            got = shared.take(want); // credit given back before the wait was registered
        }
        return got;
    }

    /** Credit taken for a receive that did not use it: back at once. */
    void unused(int n) {
        shared.give(n);
    }

    /** {@code n} frags went back to the socket (or were reclaimed with it). */
    void freed(int n) {
        freed += n;
    }

    /** Once per loop pass: what the frags freed goes back to the binding. */
    void giveBack() {
        if (freed > 0) {
            shared.give(freed);
            freed = 0;
        }
    }

    /** Any thread: credit came back to the binding. */
    private void onCredit() {
        WAITING.setVolatile(this, 0);
        loop.signal();
    }
}
