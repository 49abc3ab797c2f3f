package dev.devmem.samples.ingest;

import dev.devmem.ffm.testing.NetcatPattern;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.zip.CRC32C;

/** A plain-Java TCP peer that sends the netcat pattern and checksums what it sent, as the sender sees it. */
final class PatternSender implements AutoCloseable {
    /** Failure timeout only: how long a test waits for something that should happen, never a speed bound. */
    static final Duration TIMEOUT = Duration.ofMinutes(2);
    private static final int CHUNK = 1 << 20;

    private final SocketChannel channel;
    private final NetcatPattern pattern;
    private final CRC32C crc = new CRC32C();
    private long sent;

    private PatternSender(SocketChannel channel, NetcatPattern pattern) {
        this.channel = channel;
        this.pattern = pattern;
    }

    /** A loopback port nobody listens on right now. */
    static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    /** Connects, retrying while nothing listens yet: the service opens its listener asynchronously after startup. */
    static PatternSender connect(int port, NetcatPattern pattern) throws InterruptedException {
        InetSocketAddress to = new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (true) {
            try {
                SocketChannel c = SocketChannel.open(to);
                c.setOption(StandardSocketOptions.TCP_NODELAY, true);
                return new PatternSender(c, pattern);
            } catch (IOException refused) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("nothing listens on " + to + " after " + TIMEOUT, refused);
                }
                Thread.sleep(20);
            }
        }
    }

    int localPort() {
        try {
            return ((InetSocketAddress) channel.getLocalAddress()).getPort();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    /** Sends the next {@code bytes} bytes of the pattern (blocking), adding them to the checksum. */
    void send(long bytes) throws IOException {
        ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK);
        long end = sent + bytes;
        while (sent < end) {
            int n = (int) Math.min(CHUNK, end - sent);
            buf.clear().limit(n);
            pattern.fill(MemorySegment.ofBuffer(buf), sent);
            crc.update(buf.duplicate());
            while (buf.hasRemaining()) {
                channel.write(buf);
            }
            sent += n;
        }
    }

    /** Sends until the receiver closes the connection; returns the bytes sent. */
    long sendUntilClosed() {
        try {
            while (true) {
                send(CHUNK);
            }
        } catch (IOException closedByReceiver) {
            return sent;
        }
    }

    long sent() {
        return sent;
    }

    /** CRC32C of everything sent, as 8 hex digits. */
    String crc32c() {
        return String.format("%08x", crc.getValue());
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
