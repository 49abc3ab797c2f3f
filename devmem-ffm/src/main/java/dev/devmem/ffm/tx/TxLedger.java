package dev.devmem.ffm.tx;

import dev.devmem.api.DevmemProtocolException;
import dev.devmem.api.spi.TxCompletionSink;

/**
 * The zerocopy sends of one socket that the kernel has not yet reported complete, by send number.
 *
 * <p>The kernel numbers a socket's zerocopy sends from 0 (u32, wrapping) and spends a number only
 * on a sendmsg that took bytes, so the outstanding sends are a window {@code [head, head + size)}
 * of consecutive numbers: a ring of (tag, bytes, state) without gaps, grown by doubling and
 * otherwise allocation-free. A notice {@code [lo, hi]} marks its numbers complete (it must lie inside
 * the window and complete each number once, or the kernel and the ledger disagree, which is a
 * {@link DevmemProtocolException}: a wrong guess here lets memory be reused under the device).
 * {@link #drain} reports completed sends from the head, in send order, and stops at the first one
 * still outstanding.
 *
 * <p>Not thread-safe: the socket's I/O thread owns it.
 */
public final class TxLedger {
    private static final byte OUTSTANDING = 0;
    private static final byte DONE = 1;
    private static final byte DONE_COPIED = 2;

    private long[] tags;
    private long[] bytes;
    private byte[] state;
    private int mask;
    private int head;
    private int size;
    /** The send number of the ring's head (equal to the next number when the ring is empty). */
    private int headNumber;
    private long outstandingBytes;
    private long completedNotDrained;

    /** A ledger whose first send will be number {@code firstNumber} (0 for a new socket). */
    public TxLedger(int initialCapacity, int firstNumber) {
        int cap = Integer.highestOneBit(Math.max(16, initialCapacity) - 1) << 1;
        tags = new long[cap];
        bytes = new long[cap];
        state = new byte[cap];
        mask = cap - 1;
        headNumber = firstNumber;
    }

    public TxLedger() {
        this(64, 0);
    }

    /** Records a send that took {@code n > 0} bytes; returns the send number it was given. */
    public int record(long tag, long n) {
        if (n <= 0) {
            throw new IllegalArgumentException("a send that took " + n + " bytes spends no send number");
        }
        if (size == tags.length) {
            grow();
        }
        int i = (head + size) & mask;
        tags[i] = tag;
        bytes[i] = n;
        state[i] = OUTSTANDING;
        int number = headNumber + size;
        size++;
        outstandingBytes += n;
        return number;
    }

    private void grow() {
        int cap = tags.length * 2;
        if (cap <= 0) {
            throw new IllegalStateException("more than 2^30 sends outstanding");
        }
        long[] t = new long[cap];
        long[] b = new long[cap];
        byte[] s = new byte[cap];
        for (int k = 0; k < size; k++) {
            int i = (head + k) & mask;
            t[k] = tags[i];
            b[k] = bytes[i];
            s[k] = state[i];
        }
        tags = t;
        bytes = b;
        state = s;
        mask = cap - 1;
        head = 0;
    }

    /**
     * Marks the sends numbered {@code [lo, hi]} (inclusive, u32, possibly wrapping) complete.
     * Returns how many there were.
     *
     * @throws DevmemProtocolException the range reaches outside the outstanding window (numbers never
     *                                 spent, or already reported) or completes a number twice
     */
    public int complete(int lo, int hi, boolean copied) throws DevmemProtocolException {
        long n = ZerocopyNotices.rangeLength(lo, hi);
        long from = Integer.toUnsignedLong(lo - headNumber);
        if (from + n > size) {
            throw new DevmemProtocolException("zerocopy notification [" + Integer.toUnsignedString(lo) + ", "
                    + Integer.toUnsignedString(hi) + "] covers send numbers that are not outstanding: the "
                    + size + " outstanding are " + window());
        }
        int first = (int) from;
        for (int k = 0; k < n; k++) {
            if (state[(head + first + k) & mask] != OUTSTANDING) {
                throw new DevmemProtocolException("zerocopy notification [" + Integer.toUnsignedString(lo) + ", "
                        + Integer.toUnsignedString(hi) + "] completes send " + Integer.toUnsignedString(lo + k)
                        + " a second time");
            }
        }
        byte s = copied ? DONE_COPIED : DONE;
        for (int k = 0; k < n; k++) {
            state[(head + first + k) & mask] = s;
        }
        completedNotDrained += n;
        return (int) n;
    }

    /** Reports the completed sends at the head of the ledger, in send order; returns how many. */
    public int drain(TxCompletionSink sink) {
        int reported = 0;
        while (size > 0) {
            byte s = state[head];
            if (s == OUTSTANDING) {
                break;
            }
            long tag = tags[head];
            long n = bytes[head];
            head = (head + 1) & mask;
            size--;
            headNumber++;
            outstandingBytes -= n;
            completedNotDrained--;
            reported++;
            sink.completed(tag, n, s == DONE_COPIED);
        }
        return reported;
    }

    /** Sends not yet drained (outstanding, or complete behind an outstanding one). */
    public int size() {
        return size;
    }

    /** Bytes of the sends not yet drained. */
    public long bytes() {
        return outstandingBytes;
    }

    /** Sends marked complete but not yet drained (waiting for an earlier send). */
    public long completedNotDrained() {
        return completedNotDrained;
    }

    /** The number the next {@link #record} will give. */
    public int nextNumber() {
        return headNumber + size;
    }

    /** Forgets every send (the socket is gone). */
    public void clear() {
        headNumber += size;
        head = 0;
        size = 0;
        outstandingBytes = 0;
        completedNotDrained = 0;
    }

    private String window() {
        if (size == 0) {
            return "none (next is " + Integer.toUnsignedString(headNumber) + ")";
        }
        return "[" + Integer.toUnsignedString(headNumber) + ", " + Integer.toUnsignedString(headNumber + size - 1) + "]";
    }

    @Override
    public String toString() {
        return "TxLedger[" + size + " outstanding " + window() + ", " + outstandingBytes + " bytes]";
    }
}
