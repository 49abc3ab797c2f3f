package dev.devmem.ffm.testing;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The byte stream the kernel's devmem documentation and selftests send, generalised.
 *
 * <p>The doc pipes {@code yes $(echo -e \\x01\\x02\\x03\\x04\\x05\\x06) | tr \\n \\0} into netcat:
 * the bytes 1, 2, 3, 4, 5, 6, 0 repeating, period 7. ncdevmem's {@code -v N} validation expects
 * 1, 2, ..., N-1, then 0x0A (what {@code yes} prints without the {@code tr}). This class gives both:
 * period {@code N}, the bytes {@code 1..N-1}, then a terminator of 0 or 0x0A.
 *
 * <p>Because the pattern is a pure function of the stream offset, a receiver can check every
 * fragment where it lands, whatever order of kinds or sizes it arrived in, and report the exact
 * stream offset of the first wrong byte. Fill and check work on whole chunks (vectorised
 * {@link MemorySegment#mismatch}), fast enough for GiB streams.
 */
public final class NetcatPattern {
    private static final int WINDOW_TARGET = 64 * 1024;

    private final int period;
    private final byte terminator;
    private final int window;
    private final MemorySegment template;

    /**
     * @param period     2 to 256: the bytes 1..period-1 must fit in a byte
     * @param terminator 0 (the kernel doc, with {@code tr \\n \\0}) or 0x0A (plain {@code yes}, ncdevmem)
     */
    public NetcatPattern(int period, int terminator) {
        if (period < 2 || period > 256) {
            throw new IllegalArgumentException("period must be in [2, 256], was " + period);
        }
        if (terminator != 0 && terminator != 0x0A) {
            throw new IllegalArgumentException("terminator must be 0 or 0x0A, was " + terminator);
        }
        this.period = period;
        this.terminator = (byte) terminator;
        this.window = (WINDOW_TARGET + period - 1) / period * period;
        byte[] t = new byte[window + period];
        for (int i = 0; i < t.length; i++) {
            t[i] = at(i);
        }
        this.template = MemorySegment.ofArray(t);
    }

    /** 1, 2, 3, 4, 5, 6, 0 repeating: the kernel devmem doc's netcat example. */
    public static NetcatPattern kernelDoc() {
        return new NetcatPattern(7, 0);
    }

    /** 1 .. period-1 then 0x0A: what ncdevmem {@code -v period} validates. */
    public static NetcatPattern ncdevmem(int period) {
        return new NetcatPattern(period, 0x0A);
    }

    public int period() {
        return period;
    }

    public int terminator() {
        return terminator & 0xFF;
    }

    /** The byte at {@code streamOffset}. */
    public byte at(long streamOffset) {
        int i = (int) Math.floorMod(streamOffset, (long) period);
        return i == period - 1 ? terminator : (byte) (i + 1);
    }

    /** Writes the pattern into all of {@code dst}, whose first byte is at {@code streamOffset}. */
    public void fill(MemorySegment dst, long streamOffset) {
        long size = dst.byteSize();
        int phase = (int) Math.floorMod(streamOffset, (long) period);
        long done = 0;
        while (done < size) {
            int n = (int) Math.min(window, size - done);
            MemorySegment.copy(template, phase, dst, done, n);
            done += n;
            phase = (phase + n) % period;
        }
    }

    /** A new array of {@code length} pattern bytes starting at {@code streamOffset}. */
    public byte[] bytes(long streamOffset, int length) {
        byte[] b = new byte[length];
        fill(MemorySegment.ofArray(b), streamOffset);
        return b;
    }

    /**
     * Checks all of {@code seg}, whose first byte should be the stream's byte at {@code streamOffset}.
     * Returns the stream offset of the first wrong byte, or {@code -1} when every byte is right.
     */
    public long firstMismatch(MemorySegment seg, long streamOffset) {
        long size = seg.byteSize();
        int phase = (int) Math.floorMod(streamOffset, (long) period);
        long done = 0;
        while (done < size) {
            int n = (int) Math.min(window, size - done);
            long m = MemorySegment.mismatch(seg, done, done + n, template, phase, phase + n);
            if (m >= 0) {
                return streamOffset + done + m;
            }
            done += n;
            phase = (phase + n) % period;
        }
        return -1;
    }

    /**
     * {@link #firstMismatch} as an assertion.
     *
     * @throws AssertionError naming the first wrong stream offset, the expected and the actual byte
     */
    public void verify(MemorySegment seg, long streamOffset) {
        long bad = firstMismatch(seg, streamOffset);
        if (bad >= 0) {
            int actual = seg.get(ValueLayout.JAVA_BYTE, bad - streamOffset) & 0xFF;
            throw new AssertionError("pattern mismatch at stream offset " + bad + ": expected 0x"
                    + Integer.toHexString(at(bad) & 0xFF) + ", got 0x" + Integer.toHexString(actual)
                    + " (segment of " + seg.byteSize() + " bytes from stream offset " + streamOffset + ")");
        }
    }

    @Override
    public String toString() {
        return "NetcatPattern[1.." + (period - 1) + ", then 0x" + Integer.toHexString(terminator()) + "]";
    }
}
