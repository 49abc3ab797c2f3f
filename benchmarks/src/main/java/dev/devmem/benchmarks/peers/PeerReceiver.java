package dev.devmem.benchmarks.peers;

import java.net.InetSocketAddress;
import java.util.Map;

/**
 * One contender of the peers benchmark, in a JVM of its own so that its whole-process CPU is its
 * own: listens on 127.0.0.1:PORT, takes one connection, discards everything until the peer ends the
 * stream, closes, prints the byte count and exits.
 *
 * <p>Usage: {@code PeerReceiver KIND PORT}, KIND one of {@link #KINDS}' keys.
 */
public final class PeerReceiver {
    /** What each kind is, as the tables name it. */
    static final Map<String, String> KINDS = Map.of(
            "nio", "JDK NIO blocking SocketChannel, 1 MiB direct buffer",
            "netty", "Netty 4.2 epoll, plain ChannelInboundHandler",
            "reactor-netty", "Reactor Netty 1.3 TcpServer (epoll)",
            "devmem-frags", "this library, Linux backend, Flux<DevmemFrag>",
            "devmem-batches", "this library, Linux backend, Flux<DevmemFragBatch>",
            "emulated-frags", "this library, emulated NIC dmabuf path, Flux<DevmemFrag>");

    private PeerReceiver() {
    }

    /** The receive of one kind: blocks until the stream ended and returns the bytes received. */
    interface Receive {
        long run(InetSocketAddress listen) throws Exception;
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 2 || !KINDS.containsKey(args[0])) {
            System.err.println("usage: PeerReceiver " + String.join("|", KINDS.keySet()) + " PORT");
            System.exit(2);
        }
        InetSocketAddress listen = new InetSocketAddress("127.0.0.1", Integer.parseInt(args[1]));
        Receive r = switch (args[0]) {
            case "nio" -> NioReceive::run;
            case "netty" -> NettyEpollReceive::run;
            case "reactor-netty" -> ReactorNettyReceive::run;
            case "devmem-frags" -> a -> DevmemReceive.linux(a, false);
            case "devmem-batches" -> a -> DevmemReceive.linux(a, true);
            case "emulated-frags" -> DevmemReceive::emulated;
            default -> throw new IllegalStateException(args[0]);
        };
        long bytes = r.run(listen);
        System.out.println(bytes);
        System.out.flush();
        // For profiling by hand: stay a moment so that /proc/PID/task/*/stat can be read after the transfer.
        Thread.sleep(Long.getLong("peers.linger", 0));
        System.exit(0);
    }
}
