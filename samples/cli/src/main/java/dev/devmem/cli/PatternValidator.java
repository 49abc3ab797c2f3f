package dev.devmem.cli;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Checks a byte stream against the netcat pattern of the kernel's devmem documentation, generalised
 * as ncdevmem's {@code -v N}: the bytes 1, 2, ..., N-1 and then one terminator byte, repeating. The
 * terminator is 0 for the documentation's {@code yes ... | tr \\n \\0} pipeline and 0x0A for
 * ncdevmem's own validator and for peers that keep {@code yes}'s newline.
 *
 * <p>With {@link #AUTO} the stream decides: the first terminator position this validator reads
 * (stream offset N-1 unless that byte was in memory the CPU cannot read) must hold 0 or 0x0A, and
 * that value is then required at every later terminator position.
 *
 * <p>The pattern is a pure function of the stream offset, so any piece of the stream can be checked
 * where it lands. {@link #check} allocates nothing: it compares against a preallocated template with
 * the vectorised {@link MemorySegment#mismatch}. Not thread-safe: one stream, one thread at a time
 * (the receive loop's).
 */
public final class PatternValidator {
    /** Terminator chosen by the first terminator byte of the stream. */
    public static final int AUTO = -1;

    private static final int WINDOW_TARGET = 64 * 1024;

    private final int period;
    private final int window;
    private final MemorySegment zeroTemplate;
    private final MemorySegment newlineTemplate;
    private MemorySegment template;
    private int terminator;
    private long bytesChecked;

    /**
     * @param period     N, in [2, 256]: the bytes 1..N-1 must fit in a byte
     * @param terminator 0, 0x0A, or {@link #AUTO}
     */
    public PatternValidator(int period, int terminator) {
        if (period < 2 || period > 256) {
            throw new IllegalArgumentException("the pattern period must be in [2, 256], was " + period);
        }
        if (terminator != AUTO && terminator != 0 && terminator != 0x0A) {
            throw new IllegalArgumentException("the terminator must be 0 or 10 (0x0A), was " + terminator);
        }
        this.period = period;
        this.window = (WINDOW_TARGET + period - 1) / period * period;
        this.zeroTemplate = template(period, (byte) 0, window + period);
        this.newlineTemplate = template(period, (byte) 0x0A, window + period);
        this.terminator = terminator;
        this.template = terminator == 0x0A ? newlineTemplate : zeroTemplate;
    }

    private static MemorySegment template(int period, byte terminator, int length) {
        byte[] t = new byte[length];
        for (int i = 0; i < length; i++) {
            t[i] = byteAt(i, period, terminator);
        }
        return MemorySegment.ofArray(t);
    }

    private static byte byteAt(long offset, int period, byte terminator) {
        int i = (int) Math.floorMod(offset, (long) period);
        return i == period - 1 ? terminator : (byte) (i + 1);
    }

    public int period() {
        return period;
    }

    /** 0 or 0x0A once known, else {@link #AUTO}. */
    public int terminator() {
        return terminator;
    }

    /** Bytes checked so far (all of them right: a wrong one throws). */
    public long bytesChecked() {
        return bytesChecked;
    }

    /** The byte expected at {@code streamOffset}; at a terminator position before it is known, 0. */
    public byte expectedAt(long streamOffset) {
        return byteAt(streamOffset, period, (byte) Math.max(terminator, 0));
    }

    /**
     * Checks the first {@code length} bytes of {@code seg}, whose first byte is the stream's byte at
     * {@code streamOffset}.
     *
     * @throws DataMismatchException naming the stream offset of the first wrong byte, what was
     *                               expected and what came
     */
    public void check(MemorySegment seg, long streamOffset, long length) {
        long done = 0;
        if (terminator == AUTO) {
            // Up to and including the first terminator position in this piece: bytes before it are the
            // same for both terminators; the byte there decides.
            long phase = Math.floorMod(streamOffset, (long) period);
            long toTerminator = period - 1 - phase;
            if (toTerminator >= length) {
                compare(seg, 0, length, streamOffset);
                bytesChecked += length;
                return;
            }
            compare(seg, 0, toTerminator, streamOffset);
            byte t = seg.get(ValueLayout.JAVA_BYTE, toTerminator);
            if (t != 0 && t != 0x0A) {
                throw new DataMismatchException(String.format(
                        "pattern mismatch at stream offset %d: expected the terminator 0x00 or 0x0a, got 0x%02x "
                                + "(pattern 1..%d then a terminator)",
                        streamOffset + toTerminator, t & 0xFF, period - 1));
            }
            terminator = t;
            template = t == 0x0A ? newlineTemplate : zeroTemplate;
            done = toTerminator + 1;
        }
        compare(seg, done, length, streamOffset);
        bytesChecked += length;
    }

    /** Compares seg[from, to) with the template at the stream offset of {@code from}. */
    private void compare(MemorySegment seg, long from, long to, long streamOffset) {
        long pos = from;
        int phase = (int) Math.floorMod(streamOffset + from, (long) period);
        while (pos < to) {
            int n = (int) Math.min(window, to - pos);
            long m = MemorySegment.mismatch(seg, pos, pos + n, template, phase, phase + n);
            if (m >= 0) {
                throw mismatch(seg, pos + m, streamOffset);
            }
            pos += n;
            phase = (phase + n) % period;
        }
    }

    private DataMismatchException mismatch(MemorySegment seg, long index, long streamOffset) {
        long at = streamOffset + index;
        int got = seg.get(ValueLayout.JAVA_BYTE, index) & 0xFF;
        return new DataMismatchException(String.format(
                "pattern mismatch at stream offset %d: expected 0x%02x, got 0x%02x (%s)",
                at, expectedAt(at) & 0xFF, got, describe()));
    }

    /** E.g. {@code pattern 1..6 then 0x00}. */
    public String describe() {
        return "pattern 1.." + (period - 1) + " then "
                + (terminator == AUTO ? "0x00 or 0x0a" : String.format("0x%02x", terminator));
    }
}
