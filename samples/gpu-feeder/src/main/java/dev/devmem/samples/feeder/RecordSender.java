package dev.devmem.samples.feeder;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.CRC32C;

/**
 * Sends {@code count} records of a {@link RecordFormat} over one TCP connection with blocking writes
 * of whole records (about 1 MiB at a time), then closes its side; it waits up to 10 s for a
 * receiver that is still starting. {@link #bytesWritten()} shows, from
 * any thread, how far the receiver let it get: a sender pushed back by TCP stops advancing.
 */
public final class RecordSender {
    private final RecordFormat format;
    private final AtomicLong bytesWritten = new AtomicLong();

    public RecordSender(RecordFormat format) {
        this.format = format;
    }

    /** Connects to {@code target}, sends records {@code 0..count-1} and closes. Returns the bytes sent. */
    public long send(InetSocketAddress target, long count) throws IOException {
        int size = format.recordBytes();
        int perChunk = Math.max(1, (1 << 20) / size);
        CRC32C crc = new CRC32C();
        try (Arena arena = Arena.ofConfined(); SocketChannel ch = connect(target)) {
            MemorySegment chunk = arena.allocate((long) perChunk * size, 4096);
            ByteBuffer view = chunk.asByteBuffer();
            for (long next = 0; next < count; ) {
                int n = (int) Math.min(perChunk, count - next);
                for (int r = 0; r < n; r++) {
                    format.write(chunk.asSlice((long) r * size, size), next + r, crc);
                }
                view.clear().limit(n * size);
                while (view.hasRemaining()) {
                    bytesWritten.addAndGet(ch.write(view));
                }
                next += n;
            }
            ch.shutdownOutput();
        }
        return bytesWritten.get();
    }

    /** Connects, retrying for up to 10 s while nothing listens yet (a receiver still starting up). */
    private static SocketChannel connect(InetSocketAddress target) throws IOException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (true) {
            SocketChannel ch = SocketChannel.open(); // a failed connect closes the channel: one per attempt
            try {
                ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
                ch.connect(target);
                return ch;
            } catch (java.net.ConnectException e) {
                ch.close();
                if (System.nanoTime() > deadline) {
                    throw new java.net.ConnectException("nothing listens on " + target + " (tried for 10 s)");
                }
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new java.io.InterruptedIOException("interrupted while connecting to " + target);
            }
        }
    }

    public long bytesWritten() {
        return bytesWritten.get();
    }
}
