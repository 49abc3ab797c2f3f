package dev.devmem.ffm.emulated;

/**
 * What a synthetic (socket-less) endpoint "receives".
 *
 * @param totalBytes   the stream's length; {@code -1} for an endless stream. After it, recvmsg returns 0 (EOF).
 * @param writePattern whether to write the kernel devmem documentation's netcat pattern (bytes
 *                     1..6 then 0x0A, repeating, by stream position) into the buffers. Without it
 *                     the buffers keep whatever they held, and only the control path is exercised.
 */
public record SyntheticStream(long totalBytes, boolean writePattern) {
    public SyntheticStream {
        if (totalBytes < -1) {
            throw new IllegalArgumentException("totalBytes must be >= 0, or -1 for endless, was " + totalBytes);
        }
    }

    /** An endless stream whose bytes are not written. */
    public static SyntheticStream endless() {
        return new SyntheticStream(-1, false);
    }

    /** {@code totalBytes} of the netcat pattern, then EOF. */
    public static SyntheticStream pattern(long totalBytes) {
        return new SyntheticStream(totalBytes, true);
    }

    /** The pattern byte at stream position {@code position}: 1, 2, 3, 4, 5, 6, 0x0A, repeating. */
    public static byte patternByte(long position) {
        int r = (int) (position % 7);
        return (byte) (r == 6 ? 0x0A : r + 1);
    }
}
