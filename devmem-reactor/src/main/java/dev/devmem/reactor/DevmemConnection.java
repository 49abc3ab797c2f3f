package dev.devmem.reactor;

import dev.devmem.api.DevmemFrag;
import dev.devmem.api.DevmemFragBatch;
import org.reactivestreams.Publisher;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

import java.net.InetSocketAddress;
import java.util.function.Function;

/**
 * One accepted or connected devmem TCP connection.
 *
 * <p>Its data can be received once, by one subscriber, either as {@link #receive() frags} or as
 * {@link #receiveBatches() batches}; a second subscription gets {@link IllegalStateException}.
 * Signals ({@code onNext}, {@code onComplete}, {@code onError}) are delivered on the connection's
 * I/O loop thread ({@code devmem-io-N}): keep {@code onNext} short or {@code publishOn} a scheduler
 * of your own. {@code request(n)} and {@code cancel()} may be called from any thread.
 *
 * <p>When the receive terminates (complete, error or cancel) the connection stops reading at once;
 * frags already delivered stay valid until released, or until the receiver's
 * {@linkplain DevmemReceiver#closeGracePeriod close grace period} ends. Then the socket is closed and
 * the kernel reclaims whatever was not released (counted in {@link ConnectionStats#fragsReclaimed()}).
 * A connection that is never subscribed is closed by {@link #dispose()} or when the subscription
 * that produced it ends; a subscribed one outlives that subscription until its receive ends.
 */
public interface DevmemConnection extends Disposable {

    InetSocketAddress localAddress();

    InetSocketAddress remoteAddress();

    /**
     * The connection's byte stream as frags, in stream order. Each frag must be released. Never more
     * than {@code n} frags for {@code request(n)}; no recvmsg happens without demand, nor while the
     * frags delivered and not yet released reach the token budget.
     *
     * <p>Frags that operators <em>downstream</em> of this Flux drop (filter, onBackpressureDrop,
     * limitRate/publishOn queues on cancel) are released only if the discard hook is in their
     * subscriber context: end the chain with {@code .doOnDiscard(DevmemFrag.class, DevmemFrag::release)},
     * or use {@link #receive(Function)}, which installs it for the whole handler chain.
     */
    Flux<DevmemFrag> receive();

    /**
     * {@link #receive()} passed through {@code handler}, with the frag-releasing discard hook in the
     * context of every operator of the handler's chain, so frags it drops are released.
     */
    <T> Flux<T> receive(Function<? super Flux<DevmemFrag>, ? extends Publisher<T>> handler);

    /**
     * The connection's byte stream as one {@link DevmemFragBatch} per recvmsg: the same frags and
     * rules as {@link #receive()}, without an object per frag. {@code request(n)} counts batches.
     */
    Flux<DevmemFragBatch> receiveBatches();

    /** Counters and the token ledger of this connection; safe from any thread. */
    ConnectionStats stats();

    /** Completes when the socket is closed and every frag is accounted for (released or reclaimed). */
    Mono<Void> onClose();

    /** Closes the connection: an active receive is cancelled (its subscriber gets no further signal). */
    @Override
    void dispose();
}
