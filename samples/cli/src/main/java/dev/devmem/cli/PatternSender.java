package dev.devmem.cli;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;

/**
 * Sends the netcat pattern (1..N-1 then a terminator, repeating) over plain TCP from host memory: what
 * {@code yes $(echo -e \\x01...\\x06) | tr \\n \\0 | head -c SIZE | nc HOST PORT} sends, without the
 * pipes. One direct buffer whose length is a multiple of the period is written again and again, so
 * every write starts at phase 0 and nothing is allocated per write.
 */
final class PatternSender {
    private static final int CHUNK_TARGET = 1 << 20;

    private final int period;
    private final int terminator;
    private final long corruptAt;
    private volatile long sent;

    /**
     * @param corruptAt the stream offset of one byte to flip (to see a receiver catch it), or -1
     */
    PatternSender(int period, int terminator, long corruptAt) {
        if (period < 2 || period > 256) {
            throw new IllegalArgumentException("the pattern period must be in [2, 256], was " + period);
        }
        if (terminator != 0 && terminator != 0x0A) {
            throw new IllegalArgumentException("the terminator must be 0 or 10, was " + terminator);
        }
        this.period = period;
        this.terminator = terminator;
        this.corruptAt = corruptAt;
    }

    record Result(InetSocketAddress remote, InetSocketAddress local, long bytes, double seconds, int period,
                  int terminator) {
        double bytesPerSecond() {
            return seconds > 0 ? bytes / seconds : 0;
        }
    }

    /** Bytes written so far (for a progress line on another thread). */
    long sent() {
        return sent;
    }

    /** Connects to {@code remote} and sends {@code bytes} bytes, then shuts the connection down. */
    Result send(InetSocketAddress remote, long bytes) throws IOException {
        SocketChannel ch;
        try {
            ch = SocketChannel.open(remote);
        } catch (IOException e) {
            throw new IOException("connect(" + HostPort.format(remote) + ") failed: " + e.getMessage(), e);
        }
        try (ch) {
            ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
            InetSocketAddress local = (InetSocketAddress) ch.getLocalAddress();
            long start = System.nanoTime();
            send(ch, bytes);
            try {
                ch.shutdownOutput();
            } catch (IOException e) {
                throw new IOException("shutdown(" + HostPort.format(remote) + ") failed: " + e.getMessage(), e);
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            return new Result(remote, local, bytes, seconds, period, terminator);
        }
    }

    /** Writes {@code bytes} bytes of the pattern to a connected, blocking channel. */
    void send(SocketChannel ch, long bytes) throws IOException {
        int chunk = (CHUNK_TARGET + period - 1) / period * period;
        ByteBuffer clean = fill(ByteBuffer.allocateDirect(chunk));
        ByteBuffer corrupt = null;
        if (corruptAt >= 0 && corruptAt < bytes) {
            corrupt = fill(ByteBuffer.allocateDirect(chunk));
            int i = (int) (corruptAt % chunk);
            corrupt.put(i, (byte) ~corrupt.get(i));
        }
        String to = ch.getRemoteAddress() instanceof InetSocketAddress a ? HostPort.format(a) : "the peer";
        long done = 0;
        while (done < bytes) {
            ByteBuffer b = corrupt != null && corruptAt >= done && corruptAt < done + chunk ? corrupt : clean;
            int n = (int) Math.min(chunk, bytes - done);
            b.clear().limit(n);
            try {
                while (b.hasRemaining()) {
                    ch.write(b);
                }
            } catch (IOException e) {
                throw new IOException("write to " + to + " failed after " + (done + b.position()) + " bytes: " + e.getMessage(), e);
            }
            done += n;
            sent = done;
        }
    }

    private ByteBuffer fill(ByteBuffer b) {
        for (int i = 0; i < b.capacity(); i++) {
            int phase = i % period;
            b.put(i, phase == period - 1 ? (byte) terminator : (byte) (phase + 1));
        }
        return b;
    }
}
