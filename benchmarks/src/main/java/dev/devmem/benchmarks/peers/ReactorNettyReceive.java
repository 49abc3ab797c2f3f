package dev.devmem.benchmarks.peers;

import io.netty.buffer.ByteBuf;
import reactor.netty.DisposableServer;
import reactor.netty.tcp.TcpServer;

import java.net.InetSocketAddress;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;

/** Reactor Netty's {@code TcpServer} (native epoll when present, as here): count the inbound ByteBufs. */
final class ReactorNettyReceive {
    private ReactorNettyReceive() {
    }

    static long run(InetSocketAddress listen) throws Exception {
        CompletableFuture<Long> done = new CompletableFuture<>();
        DisposableServer server = TcpServer.create().host(listen.getHostString()).port(listen.getPort())
                .handle((in, out) -> {
                    AtomicLong bytes = new AtomicLong();
                    return in.receive().doOnNext((ByteBuf b) -> bytes.addAndGet(b.readableBytes()))
                            .then()
                            // Reactor Netty ends the inbound with a cancel when the peer's FIN closes the
                            // channel, not with onComplete: any end of the stream counts.
                            .doFinally(signal -> done.complete(bytes.get()));
                })
                .bindNow();
        try {
            return done.get();
        } finally {
            server.disposeNow();
        }
    }
}
