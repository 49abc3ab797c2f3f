package dev.devmem.reactor.rx;

import dev.devmem.api.DevmemException;
import dev.devmem.api.spi.DevmemListener;
import dev.devmem.api.spi.DevmemSocket;
import dev.devmem.api.spi.Pollable;
import dev.devmem.reactor.DevmemConnection;
import dev.devmem.reactor.loop.Channel;
import dev.devmem.reactor.loop.IoLoop;
import org.reactivestreams.Subscription;
import reactor.core.CoreSubscriber;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Operators;

import java.util.concurrent.atomic.AtomicLongFieldUpdater;

/**
 * The accepted connections of a scope's listener, as a Flux: accepts only with demand (pending
 * connections wait in the kernel backlog otherwise), at most {@code maxAccepts}, then completes.
 * Each connection is registered on its loop before it is emitted.
 */
public final class Listen extends Flux<DevmemConnection> {
    private final Scope scope;
    private final long maxAccepts;

    public Listen(Scope scope, long maxAccepts) {
        this.scope = scope;
        this.maxAccepts = maxAccepts;
    }

    @Override
    public void subscribe(CoreSubscriber<? super DevmemConnection> actual) {
        DevmemListener l = scope.takeListener();
        if (l == null || !scope.retain()) {
            if (l != null) {
                l.close();
            }
            Operators.error(actual, new IllegalStateException("Only one subscriber per devmem listen scope"));
            return;
        }
        Acceptor a = new Acceptor(scope, l, scope.loops.next(), actual, maxAccepts);
        actual.onSubscribe(a);
        a.loop.register(a);
    }

    static final class Acceptor extends Channel implements Subscription {
        private static final AtomicLongFieldUpdater<Acceptor> REQUESTED =
                AtomicLongFieldUpdater.newUpdater(Acceptor.class, "requested");

        final IoLoop loop;
        private final Scope scope;
        private final DevmemListener listener;
        private final long maxAccepts;
        private CoreSubscriber<? super DevmemConnection> actual;
        private volatile long requested;
        private volatile boolean cancelled;
        private boolean closed;
        private boolean wantRead;
        private long accepted;

        Acceptor(Scope scope, DevmemListener listener, IoLoop loop, CoreSubscriber<? super DevmemConnection> actual,
                 long maxAccepts) {
            this.scope = scope;
            this.listener = listener;
            this.loop = loop;
            this.actual = actual;
            this.maxAccepts = maxAccepts;
        }

        @Override
        public void request(long n) {
            if (Operators.validate(n) && Operators.addCap(REQUESTED, this, n) == 0) {
                loop.signal();
            }
        }

        @Override
        public void cancel() {
            cancelled = true;
            loop.signal();
        }

        @Override
        protected boolean work() {
            if (closed) {
                return false;
            }
            if (cancelled) {
                closeListener();
                return true;
            }
            boolean progress = false;
            while (requested > 0) {
                DevmemSocket s;
                try {
                    s = listener.accept();
                } catch (DevmemException | RuntimeException e) {
                    CoreSubscriber<? super DevmemConnection> a = actual;
                    closeListener();
                    a.onError(e);
                    return true;
                }
                if (s == null) {
                    wantRead = true;
                    return progress;
                }
                progress = true;
                Connection c = scope.newConnection(s);
                if (c == null) {
                    continue;
                }
                c.register();
                if (requested != Long.MAX_VALUE) {
                    REQUESTED.decrementAndGet(this);
                }
                accepted++;
                CoreSubscriber<? super DevmemConnection> a = actual;
                try {
                    a.onNext(c);
                } catch (Throwable t) {
                    c.dispose();
                    closeListener();
                    a.onError(Operators.onOperatorError(this, t, c, a.currentContext()));
                    return true;
                }
                if (accepted == maxAccepts) {
                    closeListener();
                    a.onComplete();
                    return true;
                }
                if (cancelled) {
                    closeListener();
                    return true;
                }
            }
            wantRead = false;
            return progress;
        }

        private void closeListener() {
            if (!closed) {
                closed = true;
                wantRead = false;
                actual = null;
                try {
                    listener.close();
                } finally {
                    scope.release();
                }
            }
        }

        @Override
        protected Pollable pollable() {
            return !closed && wantRead ? listener : null;
        }

        @Override
        protected boolean isClosed() {
            return closed;
        }

        @Override
        protected void closeNow(Throwable cause) {
            CoreSubscriber<? super DevmemConnection> a = actual;
            closeListener();
            if (a != null && !cancelled) {
                a.onError(cause);
            }
        }
    }
}
