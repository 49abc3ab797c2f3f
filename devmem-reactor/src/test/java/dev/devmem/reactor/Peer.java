package dev.devmem.reactor;

import dev.devmem.ffm.testing.NetcatPattern;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.lang.foreign.MemorySegment;

/** A real TCP peer on loopback that sends the netcat pattern: the other end of the integration tests. */
final class Peer implements AutoCloseable {
    final SocketChannel channel;
    private final NetcatPattern pattern;
    private long sent;

    private Peer(SocketChannel channel, NetcatPattern pattern) {
        this.channel = channel;
        this.pattern = pattern;
    }

    /** A free loopback port (to listen on; the peer retries until the listener is up). */
    static InetSocketAddress freeLoopbackAddress() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return new InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), s.getLocalPort());
        }
    }

    /** Connects, retrying while nothing listens yet (the receiver opens its listener asynchronously). */
    static Peer connect(InetSocketAddress to, NetcatPattern pattern) {
        long deadline = System.nanoTime() + Await.TIMEOUT.toNanos();
        while (true) {
            try {
                SocketChannel c = SocketChannel.open(to);
                c.setOption(StandardSocketOptions.TCP_NODELAY, true);
                return new Peer(c, pattern);
            } catch (IOException refused) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("could not connect to " + to, refused);
                }
                try {
                    Thread.sleep(5);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new AssertionError(e);
                }
            }
        }
    }

    /** Sends the next {@code bytes} bytes of the pattern (blocking). */
    void send(long bytes) throws IOException {
        ByteBuffer buf = ByteBuffer.allocateDirect(256 * 1024);
        MemorySegment seg = MemorySegment.ofBuffer(buf);
        long end = sent + bytes;
        while (sent < end) {
            int n = (int) Math.min(buf.capacity(), end - sent);
            pattern.fill(seg.asSlice(0, n), sent);
            buf.clear().limit(n);
            while (buf.hasRemaining()) {
                channel.write(buf);
            }
            sent += n;
        }
    }

    /** Sends {@code bytes} on a new daemon thread, then shuts down output; returns the thread. */
    Thread sendAsync(long bytes, boolean shutdown) {
        Thread t = new Thread(() -> {
            try {
                send(bytes);
                if (shutdown) {
                    channel.shutdownOutput();
                }
            } catch (IOException e) {
                // the receiver went away: the test says what it expected
            }
        }, "peer-writer");
        t.setDaemon(true);
        t.start();
        return t;
    }

    /** Resets the connection (RST): SO_LINGER 0 and close. */
    void reset() throws IOException {
        channel.setOption(StandardSocketOptions.SO_LINGER, 0);
        channel.close();
    }

    long sent() {
        return sent;
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
