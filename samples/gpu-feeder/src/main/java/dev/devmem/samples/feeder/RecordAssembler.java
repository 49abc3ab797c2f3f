package dev.devmem.samples.feeder;

import dev.devmem.api.DevmemFragBatch;
import dev.devmem.api.DevmemProtocolException;
import dev.devmem.api.FragKind;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.Consumer;

/**
 * Cuts a stream of frags into fixed-size records, as scatter lists of (frag, offset, length) pieces,
 * and groups the records into {@link GatherBatch}es of {@code recordsPerBatch}. Record boundaries
 * come from stream positions alone (see {@link RecordFormat}), so no payload byte is read here.
 *
 * <p>A frag is held in one {@link FragSlots slot} with one reference per piece; a frag that spans a
 * record boundary gives one piece to each record, and so may be shared by two batches. A batch is
 * handed on when it has {@code recordsPerBatch} records, or earlier, at a record boundary, once it
 * has {@code pieceLimit} pieces: a batch must never wait for more frags than the token budget lets
 * the library deliver, or the stream would stop for good.
 *
 * <p>Not thread-safe: the feed calls it under its own lock.
 */
final class RecordAssembler {
    private final FragSlots slots;
    private final int recordBytes;
    private final int recordsPerBatch;
    private final int pieceLimit;
    private final boolean hostViewOfDmabuf;
    private final GatherBatch.Owner owner;
    private final Consumer<GatherBatch> submit;
    private final ConcurrentLinkedQueue<GatherBatch> spare = new ConcurrentLinkedQueue<>();

    private GatherBatch open;
    /** After {@link #abort()}: frags still arriving are released at once. */
    private boolean stopped;
    /** Pieces of {@link #open} that belong to completed records. */
    private int openCompletePieces;
    private long streamPosition;
    private long nextSequence;
    private long receives;

    private int recordPieces;
    private long recordFirstReceive;
    private boolean recordHasLinear;

    final AssemblyCounters counters = new AssemblyCounters();

    RecordAssembler(FragSlots slots, int recordBytes, int recordsPerBatch, int pieceLimit, boolean hostViewOfDmabuf,
                    GatherBatch.Owner owner, Consumer<GatherBatch> submit) {
        if (recordsPerBatch < 1) {
            throw new IllegalArgumentException("records per batch must be positive, was " + recordsPerBatch);
        }
        this.slots = slots;
        this.recordBytes = recordBytes;
        this.recordsPerBatch = recordsPerBatch;
        this.pieceLimit = Math.max(1, pieceLimit);
        this.hostViewOfDmabuf = hostViewOfDmabuf;
        this.owner = owner;
        this.submit = submit;
    }

    /** Takes every frag of one receive. */
    void accept(DevmemFragBatch b) throws DevmemProtocolException {
        if (stopped) {
            b.releaseAll();
            return;
        }
        receives++;
        counters.receives++;
        int n = b.size();
        int i = 0;
        try {
            for (; i < n; i++) {
                cut(b, i);
            }
        } catch (DevmemProtocolException | RuntimeException e) {
            for (int j = i; j < n; j++) { // frag i failed before it was taken; release it and the rest
                b.release(j);
            }
            throw e;
        }
    }

    /** Cuts frag {@code i} of {@code b} into pieces of the records it overlaps. */
    private void cut(DevmemFragBatch b, int i) throws DevmemProtocolException {
        long pos = b.streamPosition(i);
        if (pos != streamPosition) {
            throw new DevmemProtocolException("frag at stream position " + pos + ", expected " + streamPosition);
        }
        int len = b.length(i);
        FragKind kind = b.kind(i);
        counters.frag(kind);
        if (len == 0) {
            b.release(i);
            return;
        }
        long firstRecord = pos / recordBytes;
        long lastRecord = (pos + len - 1) / recordBytes;
        int pieces = Math.toIntExact(lastRecord - firstRecord + 1);
        boolean needHost = kind != FragKind.DMABUF || hostViewOfDmabuf;
        int slot = slots.take(b, i, pieces, needHost ? b.segment(i) : null);
        int off = 0;
        while (off < len) {
            long at = pos + off;
            long record = at / recordBytes;
            int inRecord = (int) (at - record * recordBytes);
            int bytes = Math.min(len - off, recordBytes - inRecord);
            if (open == null) {
                open = spare.poll();
                if (open == null) {
                    open = new GatherBatch(slots, recordBytes);
                }
                open.reset(owner, nextSequence++, record);
                openCompletePieces = 0;
            }
            if (inRecord == 0) {
                recordPieces = 0;
                recordFirstReceive = receives;
                recordHasLinear = false;
            }
            open.add(slot, off, bytes, (record - open.firstRecord()) * recordBytes + inRecord);
            recordPieces++;
            recordHasLinear |= kind == FragKind.LINEAR;
            off += bytes;
            if (inRecord + bytes == recordBytes) {
                completeRecord();
            }
        }
        streamPosition = pos + len;
    }

    private void completeRecord() {
        open.recordCompleted();
        openCompletePieces = open.pieces();
        counters.record(recordPieces, recordFirstReceive != receives, recordHasLinear);
        if (open.records() == recordsPerBatch || open.pieces() >= pieceLimit) {
            handOn();
        }
    }

    private void handOn() {
        GatherBatch b = open;
        open = null;
        counters.batches++;
        submit.accept(b);
    }

    /**
     * The stream ended: hands on the last, partial batch. Returns a description of a record the
     * stream cut short (its frags are released), or null when the stream ended on a record boundary.
     */
    String finish() {
        String truncated = null;
        long inRecord = streamPosition % recordBytes;
        if (inRecord != 0) {
            truncated = "the stream ended " + inRecord + " bytes into record " + streamPosition / recordBytes
                    + " (records are " + recordBytes + " bytes)";
        }
        if (open != null) {
            open.dropPiecesFrom(openCompletePieces);
            if (open.records() > 0) {
                handOn();
            } else {
                recycle(open);
                open = null;
            }
        }
        return truncated;
    }

    /** The receive ended in error or was cancelled: releases what the open batch holds. */
    void abort() {
        stopped = true;
        if (open != null) {
            open.releaseFrags();
            recycle(open);
            open = null;
        }
    }

    /** A batch the device is done with, for reuse. */
    void recycle(GatherBatch b) {
        spare.offer(b);
    }

    long streamPosition() {
        return streamPosition;
    }
}
