package dev.devmem.benchmarks.peers;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;

/** The JDK's own way: a blocking {@link SocketChannel} reading into one 1 MiB direct buffer. */
final class NioReceive {
    private NioReceive() {
    }

    static long run(InetSocketAddress listen) throws Exception {
        ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20);
        try (ServerSocketChannel server = ServerSocketChannel.open().bind(listen);
             SocketChannel ch = server.accept()) {
            long total = 0;
            int n;
            while ((n = ch.read(buf.clear())) >= 0) {
                total += n;
            }
            return total;
        }
    }
}
