package dev.devmem.reactor.tx;

import org.reactivestreams.Subscription;
import reactor.core.CoreSubscriber;
import reactor.core.publisher.Operators;
import reactor.util.context.Context;

/**
 * A {@link TxChannel}'s subscriber to the user's slice publisher: slices go to the channel's MPSC
 * queue, the end and the error are flags the loop reads, and {@link #cancel()} is idempotent.
 */
final class SliceUpstream implements CoreSubscriber<Region> {
    private final TxChannel channel;
    volatile Subscription subscription;
    volatile Throwable error;
    volatile boolean complete;
    private volatile boolean cancelledUp;

    SliceUpstream(TxChannel channel) {
        this.channel = channel;
    }

    @Override
    public Context currentContext() {
        return Context.empty();
    }

    @Override
    public void onSubscribe(Subscription s) {
        if (Operators.validate(subscription, s)) {
            subscription = s;
            if (cancelledUp) {
                s.cancel();
            } else {
                channel.loop.signal();
            }
        }
    }

    @Override
    public void onNext(Region slice) {
        if (cancelledUp) {
            slice.release();
            return;
        }
        channel.offer(slice);
    }

    @Override
    public void onError(Throwable t) {
        error = t;
        channel.loop.signal();
    }

    @Override
    public void onComplete() {
        complete = true;
        channel.loop.signal();
    }

    void cancel() {
        if (!cancelledUp) {
            cancelledUp = true;
            Subscription s = subscription;
            if (s != null) {
                s.cancel();
            }
        }
    }
}
