package dev.devmem.reactor.rx;

import dev.devmem.api.DevmemFrag;
import dev.devmem.api.DevmemFragBatch;
import dev.devmem.api.spi.DevmemSocket;
import dev.devmem.reactor.ConnectionStats;
import dev.devmem.reactor.DevmemConnection;
import dev.devmem.reactor.loop.IoLoop;
import org.reactivestreams.Publisher;
import reactor.core.CoreSubscriber;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

import java.net.InetSocketAddress;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * The face of one accepted or connected socket ({@link DevmemConnection}); its receive runs on an I/O
 * loop as an {@link RxChannel}, which owns the socket.
 */
public final class Connection implements DevmemConnection {
    private final InetSocketAddress local;
    private final InetSocketAddress remote;
    private final RxChannel channel;

    Connection(DevmemSocket socket, RxSettings settings, IoLoop loop, Consumer<Connection> onClosed) {
        InetSocketAddress l;
        InetSocketAddress r;
        try {
            l = socket.localAddress();
            r = socket.remoteAddress();
        } catch (RuntimeException e) {
            l = null;
            r = null;
        }
        this.local = l;
        this.remote = r;
        this.channel = new RxChannel(socket, settings, loop, toString(), () -> onClosed.accept(this));
    }

    /** Puts the receive on its loop (once). */
    public void register() {
        channel.loop.register(channel);
    }

    /** See {@link RxChannel#closeIfUnsubscribed}. */
    void closeIfUnsubscribed(Throwable cause) {
        channel.closeIfUnsubscribed(cause);
    }

    @Override
    public InetSocketAddress localAddress() {
        return local;
    }

    @Override
    public InetSocketAddress remoteAddress() {
        return remote;
    }

    @Override
    public Flux<DevmemFrag> receive() {
        return new Receive<>(channel, false);
    }

    @Override
    public <T> Flux<T> receive(Function<? super Flux<DevmemFrag>, ? extends Publisher<T>> handler) {
        Objects.requireNonNull(handler, "handler");
        return Flux.<T>defer(() -> handler.apply(receive()))
                .doOnDiscard(DevmemFrag.class, DevmemFrag::release)
                .doOnDiscard(DevmemFragBatch.class, DevmemFragBatch::releaseAll);
    }

    @Override
    public Flux<DevmemFragBatch> receiveBatches() {
        return new Receive<>(channel, true);
    }

    @Override
    public ConnectionStats stats() {
        return channel.stats();
    }

    @Override
    public Mono<Void> onClose() {
        return channel.onClose();
    }

    @Override
    public void dispose() {
        channel.dispose();
    }

    @Override
    public boolean isDisposed() {
        return channel.isDisposed();
    }

    @Override
    public String toString() {
        return "DevmemConnection{" + local + " <- " + remote + '}';
    }

    public static Function<Flux<DevmemFrag>, Publisher<DevmemFrag>> identity() {
        return f -> f;
    }

    /** The receive Flux of a connection: frags or batches. */
    private static final class Receive<T> extends Flux<T> {
        private final RxChannel channel;
        private final boolean batches;

        Receive(RxChannel channel, boolean batches) {
            this.channel = channel;
            this.batches = batches;
        }

        @Override
        public void subscribe(CoreSubscriber<? super T> actual) {
            channel.subscribe(actual, batches);
        }
    }
}
