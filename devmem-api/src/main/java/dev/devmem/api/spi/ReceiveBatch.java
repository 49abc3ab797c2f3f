package dev.devmem.api.spi;

import dev.devmem.api.FragKind;

import java.lang.foreign.MemorySegment;

/**
 * A reusable, caller-owned array of received fragments (struct of arrays), filled by
 * {@link DevmemSocket#receive}. It lets a backend hand over a whole recvmsg worth of fragments
 * without allocating per fragment.
 *
 * <p>For fragment {@code i}: {@link #memory(int)} is the host memory the bytes are in (the host
 * receive buffer for LINEAR/HOST, the dmabuf's host view for DMABUF when it is mappable, else
 * {@code null}), and {@link #offset(int)} is relative to it (for DMABUF: the dmabuf offset).
 */
public final class ReceiveBatch {
    private static final FragKind[] KINDS = FragKind.values();

    private final byte[] kind;
    private final int[] dmabufId;
    private final long[] offset;
    private final int[] length;
    private final long[] streamPosition;
    private final int[] releaseKey;
    private final MemorySegment[] memory;
    private int size;
    private int limit;
    private long bytes;

    public ReceiveBatch(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity must be >= 1, was " + capacity);
        }
        kind = new byte[capacity];
        dmabufId = new int[capacity];
        offset = new long[capacity];
        length = new int[capacity];
        streamPosition = new long[capacity];
        releaseKey = new int[capacity];
        memory = new MemorySegment[capacity];
        limit = capacity;
    }

    public int capacity() {
        return kind.length;
    }

    /** How many fragments the next receive may return (the consumer's demand and token credit). */
    public int limit() {
        return limit;
    }

    /** Sets {@link #limit()}; {@code 1 <= limit <= capacity}. */
    public ReceiveBatch limit(int limit) {
        if (limit < 1 || limit > kind.length) {
            throw new IllegalArgumentException("limit must be in [1, " + kind.length + "], was " + limit);
        }
        this.limit = limit;
        return this;
    }

    public int size() {
        return size;
    }

    /** Total length of the fragments in the batch. */
    public long bytes() {
        return bytes;
    }

    public FragKind kind(int i) {
        check(i);
        return KINDS[kind[i]];
    }

    /** {@code kind(i).ordinal()}, without the enum: for per-fragment loops that store the kind as a number. */
    public int kindOrdinal(int i) {
        check(i);
        return kind[i];
    }

    public int dmabufId(int i) {
        check(i);
        return dmabufId[i];
    }

    public long offset(int i) {
        check(i);
        return offset[i];
    }

    public int length(int i) {
        check(i);
        return length[i];
    }

    public long streamPosition(int i) {
        check(i);
        return streamPosition[i];
    }

    /** What to pass to {@link DevmemSocket#release}: the kernel token for DMABUF, a host-slice key otherwise. */
    public int releaseKey(int i) {
        check(i);
        return releaseKey[i];
    }

    public MemorySegment memory(int i) {
        check(i);
        return memory[i];
    }

    /**
     * Copies fragments {@code [0, n)} into the given arrays, one {@code System.arraycopy} each: for a
     * consumer that keeps the fragments of a receive past the next one (the reactor's
     * {@code DevmemFragBatch}) without a per-fragment loop. {@code kindOrdinals} gets
     * {@link #kindOrdinal(int)}.
     *
     * @throws IndexOutOfBoundsException when {@code n} is negative or above {@link #size()}, or an
     *                                   array is shorter than {@code n}
     */
    public void copyTo(int n, byte[] kindOrdinals, int[] dmabufIds, long[] offsets, int[] lengths,
                       long[] streamPositions, int[] releaseKeys, MemorySegment[] memories) {
        if (n < 0 || n > size) {
            throw new IndexOutOfBoundsException("copy of " + n + " fragments of " + size);
        }
        System.arraycopy(kind, 0, kindOrdinals, 0, n);
        System.arraycopy(dmabufId, 0, dmabufIds, 0, n);
        System.arraycopy(offset, 0, offsets, 0, n);
        System.arraycopy(length, 0, lengths, 0, n);
        System.arraycopy(streamPosition, 0, streamPositions, 0, n);
        System.arraycopy(releaseKey, 0, releaseKeys, 0, n);
        System.arraycopy(memory, 0, memories, 0, n);
    }

    /** Backend side: empties the batch before a receive. */
    public void clear() {
        for (int i = 0; i < size; i++) {
            memory[i] = null;
        }
        size = 0;
        bytes = 0;
    }

    /** Backend side: appends one fragment. */
    public void add(FragKind fragKind, int id, long off, int len, long position, int key, MemorySegment mem) {
        if (size >= limit) {
            throw new IllegalStateException("batch is at its limit " + limit);
        }
        int i = size++;
        kind[i] = (byte) fragKind.ordinal();
        dmabufId[i] = id;
        offset[i] = off;
        length[i] = len;
        streamPosition[i] = position;
        releaseKey[i] = key;
        memory[i] = mem;
        bytes += len;
    }

    private void check(int i) {
        if (i < 0 || i >= size) {
            throw new IndexOutOfBoundsException("fragment " + i + " of " + size);
        }
    }
}
