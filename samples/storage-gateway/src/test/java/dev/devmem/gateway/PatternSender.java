package dev.devmem.gateway;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.zip.CRC32C;

/**
 * The netcat pattern of the kernel's devmem documentation, generalised to a period N: bytes 1..N-1
 * then 0, repeating (N = 7 is {@code yes $(echo -e \\x01..\\x06) | tr \\n \\0}). A pure function of
 * the stream offset, so each flow of a test can use its own period and a mixed-up object shows. Sends
 * over a plain loopback socket, as {@code nc} would, and counts the bytes the kernel took.
 */
final class PatternSender {
    private final int period;
    private volatile long sent;

    PatternSender(int period) {
        if (period < 2 || period > 256) {
            throw new IllegalArgumentException("period " + period);
        }
        this.period = period;
    }

    static byte byteAt(long offset, int period) {
        int i = (int) (offset % period);
        return i == period - 1 ? 0 : (byte) (i + 1);
    }

    int period() {
        return period;
    }

    /** Bytes the socket accepted so far. */
    long sent() {
        return sent;
    }

    /** Sends {@code bytes} bytes, then closes (EOF ends the object). */
    void send(InetSocketAddress to, long bytes) throws IOException {
        try (SocketChannel ch = SocketChannel.open(to)) {
            sendOn(ch, bytes);
            ch.shutdownOutput();
        }
    }

    /** Sends {@code bytes} bytes on an open channel, without closing it. */
    void sendOn(SocketChannel ch, long bytes) throws IOException {
        int chunk = (256 * 1024 / period) * period;
        ByteBuffer b = ByteBuffer.allocateDirect(chunk);
        for (int i = 0; i < chunk; i++) {
            b.put(i, byteAt(i, period));
        }
        long start = sent;
        long done = 0;
        while (done < bytes) {
            // the buffer starts at phase 0: keep each write a whole number of periods from the start
            long phaseOffset = (start + done) % period;
            int n = (int) Math.min(chunk - phaseOffset, bytes - done);
            b.clear().position((int) phaseOffset).limit((int) phaseOffset + n);
            while (b.hasRemaining()) {
                int w = ch.write(b);
                done += w;
                sent = start + done;
            }
        }
    }

    /** CRC32C of the first {@code bytes} bytes of the pattern. */
    static int crc32c(int period, long bytes) {
        CRC32C crc = new CRC32C();
        byte[] one = new byte[period * 1024];
        for (int i = 0; i < one.length; i++) {
            one[i] = byteAt(i, period);
        }
        long done = 0;
        while (done < bytes) {
            int n = (int) Math.min(one.length, bytes - done);
            crc.update(one, 0, n);
            done += n;
        }
        return (int) crc.getValue();
    }

    /** Index of the first byte of {@code data} that is not the pattern at {@code from + index}, or -1. */
    static long mismatch(byte[] data, long from, int period) {
        for (int i = 0; i < data.length; i++) {
            if (data[i] != byteAt(from + i, period)) {
                return i;
            }
        }
        return -1;
    }
}
