package dev.devmem.samples.feeder;

import java.util.Arrays;

/**
 * The scatter list of one device batch: {@link #records()} consecutive records, starting at record
 * {@link #firstRecord()}, as pieces of frags. Piece {@code p} copies {@link #length(int)} bytes from
 * {@link #fragOffset(int)} within the frag held in slot {@link #slot(int)} to {@link #destination(int)}
 * in the batch buffer, where record {@code firstRecord + r} starts at {@code r * recordBytes}.
 *
 * <p>Struct of arrays, reused: the assembler fills it on the receive thread, the device reads it on
 * its own thread after the hand-over (a queue), and the feeder recycles it once the device completed.
 */
public final class GatherBatch {
    private final FragSlots slots;
    private final int recordBytes;
    private long sequence;
    private long firstRecord;
    private int records;
    private int pieces;
    private int[] slot = new int[64];
    private int[] fragOffset = new int[64];
    private int[] length = new int[64];
    private long[] destination = new long[64];
    private int linearPieces;
    private int dmabufPieces;
    private Owner owner;

    /** Who hears of the device's completion: the feed that submitted the batch. */
    interface Owner {
        void gathered(GatherBatch batch, DeviceBuffer buffer);

        void failed(GatherBatch batch, Throwable error);
    }

    GatherBatch(FragSlots slots, int recordBytes) {
        this.slots = slots;
        this.recordBytes = recordBytes;
    }

    void reset(Owner owner, long sequence, long firstRecord) {
        this.owner = owner;
        this.sequence = sequence;
        this.firstRecord = firstRecord;
        records = 0;
        pieces = 0;
        linearPieces = 0;
        dmabufPieces = 0;
    }

    void add(int fragSlot, int offsetInFrag, int bytes, long dst) {
        if (pieces == slot.length) {
            int n = pieces * 2;
            slot = Arrays.copyOf(slot, n);
            fragOffset = Arrays.copyOf(fragOffset, n);
            length = Arrays.copyOf(length, n);
            destination = Arrays.copyOf(destination, n);
        }
        slot[pieces] = fragSlot;
        fragOffset[pieces] = offsetInFrag;
        length[pieces] = bytes;
        destination[pieces] = dst;
        switch (slots.kind(fragSlot)) {
            case DMABUF -> dmabufPieces++;
            case LINEAR -> linearPieces++;
            case HOST -> { }
        }
        pieces++;
    }

    void recordCompleted() {
        records++;
    }

    /** The batch's number in the stream, from 0. */
    public long sequence() {
        return sequence;
    }

    public long firstRecord() {
        return firstRecord;
    }

    public int records() {
        return records;
    }

    public int recordBytes() {
        return recordBytes;
    }

    /** Bytes the gather writes: {@code records * recordBytes}. */
    public long bytes() {
        return (long) records * recordBytes;
    }

    public int pieces() {
        return pieces;
    }

    public int linearPieces() {
        return linearPieces;
    }

    public int dmabufPieces() {
        return dmabufPieces;
    }

    public int slot(int p) {
        return slot[p];
    }

    public int fragOffset(int p) {
        return fragOffset[p];
    }

    public int length(int p) {
        return length[p];
    }

    public long destination(int p) {
        return destination[p];
    }

    /** Where piece {@code p}'s bytes are, when the frag is device memory: its offset in the dmabuf. */
    public long dmabufOffset(int p) {
        return slots.dmabufOffset(slot[p]) + fragOffset[p];
    }

    /** Whether piece {@code p} lies in the dmabuf (a DMABUF frag), rather than in host memory. */
    public boolean inDmabuf(int p) {
        return slots.kind(slot[p]) == dev.devmem.api.FragKind.DMABUF;
    }

    /** The host bytes of piece {@code p}'s frag (null when the device does not read through the host). */
    public java.lang.foreign.MemorySegment hostFrag(int p) {
        return slots.host(slot[p]);
    }

    /** The device calls this once it no longer reads the batch's frags; {@code buffer} holds the records. */
    public void completed(DeviceBuffer buffer) {
        owner.gathered(this, buffer);
    }

    /** The device calls this when it cannot gather the batch; the frags are released all the same. */
    public void failed(Throwable error) {
        owner.failed(this, error);
    }

    /** Forgets pieces {@code [from, pieces)}, dropping their frag references (a record the stream cut short). */
    void dropPiecesFrom(int from) {
        if (from < pieces) {
            slots.drop(Arrays.copyOfRange(slot, from, pieces), pieces - from);
            pieces = from;
        }
    }

    /** Drops this batch's references to its frags: frags no other batch still needs are released. */
    void releaseFrags() {
        slots.drop(slot, pieces);
        pieces = 0;
    }
}
