package dev.devmem.reactor.rx;

import dev.devmem.api.DevmemException;
import dev.devmem.api.DevmemFrag;
import dev.devmem.api.DevmemFragBatch;
import dev.devmem.api.FragKind;
import dev.devmem.api.spi.ReceiveBatch;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Arrays;
import java.util.Objects;

/**
 * The frags of one receive as one object. Its per-frag arrays come from a pool of the connection and
 * go back to it once every frag is handed back; what stays with this object is one bit per frag
 * (released or not), so a late or repeated release is a no-op however long the object lives.
 */
final class FragBatch implements DevmemFragBatch, Releasable {
    private static final FragKind[] KINDS = FragKind.values();
    private static final VarHandle BITS = MethodHandles.arrayElementVarHandle(long[].class);
    private static final VarHandle QUEUED;

    static {
        try {
            QUEUED = MethodHandles.lookup().findVarHandle(FragBatch.class, "queued", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** Per-frag arrays, reused across batches of one connection (loop thread only, but for reads). */
    static final class Arrays_ {
        final byte[] kind;
        final int[] dmabufId;
        final long[] offset;
        final int[] length;
        final long[] position;
        final int[] key;
        final MemorySegment[] memory;
        final long[] handed;

        Arrays_(int capacity) {
            kind = new byte[capacity];
            dmabufId = new int[capacity];
            offset = new long[capacity];
            length = new int[capacity];
            position = new long[capacity];
            key = new int[capacity];
            memory = new MemorySegment[capacity];
            handed = new long[(capacity + 63) >>> 6];
        }
    }

    /** A connection's spare arrays (loop thread only): a batch's arrays are reused once all its frags are back. */
    static final class ArraysPool {
        private final java.util.ArrayDeque<Arrays_> spare = new java.util.ArrayDeque<>();
        private final int capacity;

        ArraysPool(int capacity) {
            this.capacity = capacity;
        }

        Arrays_ take() {
            Arrays_ a = spare.poll();
            return a != null ? a : new Arrays_(capacity);
        }

        void recycle(Arrays_ a) {
            spare.offer(a);
        }

        void clear() {
            spare.clear();
        }
    }

    private final ReleaseTarget connection;
    private final long[] released;
    private final int size;
    private final long bytes;
    private volatile Arrays_ arrays;
    private volatile int queued;
    private int handedCount;

    /** On the loop thread: copies the receive's frags. */
    FragBatch(ReleaseTarget connection, ReceiveBatch batch, int n, Arrays_ a) {
        this.connection = connection;
        this.size = n;
        this.bytes = batch.bytes();
        this.released = new long[(n + 63) >>> 6];
        batch.copyTo(n, a.kind, a.dmabufId, a.offset, a.length, a.position, a.key, a.memory);
        Arrays.fill(a.handed, 0, (n + 63) >>> 6, 0L);
        this.arrays = a;
    }

    private Arrays_ live(int i) {
        Objects.checkIndex(i, size);
        Arrays_ a = arrays;
        if (a == null) {
            throw new IllegalStateException("batch is spent: every frag was released");
        }
        return a;
    }

    @Override
    public int size() {
        return size;
    }

    @Override
    public long bytes() {
        return bytes;
    }

    @Override
    public FragKind kind(int i) {
        return KINDS[live(i).kind[i]];
    }

    @Override
    public int dmabufId(int i) {
        return live(i).dmabufId[i];
    }

    @Override
    public long offset(int i) {
        return live(i).offset[i];
    }

    @Override
    public int length(int i) {
        return live(i).length[i];
    }

    @Override
    public long streamPosition(int i) {
        return live(i).position[i];
    }

    @Override
    public boolean isHostReadable(int i) {
        return live(i).memory[i] != null;
    }

    @Override
    public MemorySegment segment(int i) {
        Arrays_ a = live(i);
        MemorySegment m = a.memory[i];
        if (m == null) {
            throw new UnsupportedOperationException("frag " + i + " is in device memory that is not host-mappable");
        }
        return m.asSlice(a.offset[i], a.length[i]).asReadOnly();
    }

    @Override
    public void release(int i) {
        Objects.checkIndex(i, size);
        int w = i >>> 6;
        long bit = 1L << i;
        long old = (long) BITS.getVolatile(released, w);
        while ((old & bit) == 0) {
            long witness = (long) BITS.compareAndExchange(released, w, old, old | bit);
            if (witness == old) {
                if (connection.inLoop()) {
                    handOne(i); // the common case, a consumer on the loop thread: no scan, no queue
                } else {
                    notifyReleased(1);
                }
                return;
            }
            old = witness;
        }
    }

    /** On the loop thread, after winning frag {@code i}'s release bit: hands just that frag back. */
    private void handOne(int i) {
        Arrays_ a = arrays;
        if (a == null) {
            return;
        }
        int w = i >>> 6;
        long bit = 1L << i;
        if ((a.handed[w] & bit) != 0) {
            return;
        }
        a.handed[w] |= bit;
        handedCount++;
        connection.handBackOnLoop(KINDS[a.kind[i]], a.key[i]);
        if (handedCount == size) {
            arrays = null;
            Arrays.fill(a.memory, 0, size, null);
            connection.recycle(a);
        }
    }

    @Override
    public void releaseAll() {
        int newly = 0;
        for (int w = 0; w < released.length; w++) {
            long all = w == released.length - 1 && (size & 63) != 0 ? (1L << (size & 63)) - 1 : -1L;
            long old = (long) BITS.getAndBitwiseOr(released, w, all);
            newly += Long.bitCount(all & ~old);
        }
        if (newly > 0) {
            notifyReleased(newly);
        }
    }

    @Override
    public boolean isReleased(int i) {
        Objects.checkIndex(i, size);
        return ((long) BITS.getVolatile(released, i >>> 6) & (1L << i)) != 0;
    }

    @Override
    public DevmemFrag frag(int i) {
        Objects.checkIndex(i, size);
        return new View(this, i);
    }

    private void notifyReleased(int frags) {
        if (connection.inLoop()) {
            connection.released(this, frags);
        } else if (queued == 0 && QUEUED.compareAndSet(this, 0, 1)) {
            connection.released(this, frags);
        } else {
            connection.countStallRelease(frags);
        }
    }

    /** On the loop thread: hands back every frag released since the last call. */
    @Override
    public void handBack(ReleaseTarget c) throws DevmemException {
        QUEUED.setVolatile(this, 0);
        Arrays_ a = arrays;
        if (a == null) {
            return;
        }
        for (int w = 0; w < released.length; w++) {
            long newly = (long) BITS.getVolatile(released, w) & ~a.handed[w];
            if (newly == 0) {
                continue;
            }
            a.handed[w] |= newly;
            handedCount += Long.bitCount(newly);
            while (newly != 0) {
                int i = (w << 6) + Long.numberOfTrailingZeros(newly);
                newly &= newly - 1;
                c.handBack(KINDS[a.kind[i]], a.key[i]);
            }
        }
        if (handedCount == size) {
            arrays = null;
            Arrays.fill(a.memory, 0, size, null);
            c.recycle(a);
        }
    }

    @Override
    public String toString() {
        return "DevmemFragBatch{" + size + " frags, " + bytes + " bytes}";
    }

    /** A {@link DevmemFrag} face of one frag of a batch. */
    private record View(FragBatch batch, int index) implements DevmemFrag {
        @Override
        public FragKind kind() {
            return batch.kind(index);
        }

        @Override
        public int dmabufId() {
            return batch.dmabufId(index);
        }

        @Override
        public long offset() {
            return batch.offset(index);
        }

        @Override
        public int length() {
            return batch.length(index);
        }

        @Override
        public long streamPosition() {
            return batch.streamPosition(index);
        }

        @Override
        public void release() {
            batch.release(index);
        }

        @Override
        public boolean isReleased() {
            return batch.isReleased(index);
        }

        @Override
        public boolean isHostReadable() {
            return batch.isHostReadable(index);
        }

        @Override
        public MemorySegment segment() {
            return batch.segment(index);
        }
    }
}
