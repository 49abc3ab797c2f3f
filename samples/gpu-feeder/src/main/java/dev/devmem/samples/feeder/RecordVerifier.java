package dev.devmem.samples.feeder;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.CRC32C;

/**
 * A consumer that checks every gathered record: header, index in sequence, payload CRC32C (see
 * {@link RecordFormat}); then recycles the buffer. A device buffer without a host view is copied to
 * host memory first (that copy is the check's, not the feeder's). The first few problems are kept.
 */
public final class RecordVerifier implements BatchConsumer {
    private static final int KEPT_PROBLEMS = 10;

    private final RecordFormat format;
    private final CRC32C crc = new CRC32C();
    private final AtomicLong verified = new AtomicLong();
    private final AtomicLong bad = new AtomicLong();
    private final List<String> problems = Collections.synchronizedList(new ArrayList<>());
    private long nextRecord;
    private MemorySegment staging;

    public RecordVerifier(RecordFormat format) {
        this.format = format;
    }

    @Override
    public void accept(GatheredBatch batch) {
        try {
            verify(batch);
        } finally {
            batch.buffer().recycle();
        }
    }

    /** Checks the batch without recycling its buffer. Batches must come in order. */
    public void verify(GatheredBatch batch) {
        if (batch.firstRecord() != nextRecord) {
            problem("batch " + batch.sequence() + " starts at record " + batch.firstRecord() + ", expected "
                    + nextRecord);
        }
        MemorySegment bytes = batch.buffer().hostView();
        if (bytes == null) {
            long size = batch.buffer().bytes();
            if (staging == null || staging.byteSize() < size) {
                staging = Arena.ofAuto().allocate(size, 4096);
            }
            batch.buffer().copyToHost(staging);
            bytes = staging;
        }
        int size = batch.recordBytes();
        for (int r = 0; r < batch.records(); r++) {
            String wrong = format.verify(bytes.asSlice((long) r * size, size), batch.firstRecord() + r, crc);
            if (wrong != null) {
                problem(wrong);
            } else {
                verified.incrementAndGet();
            }
        }
        nextRecord = batch.firstRecord() + batch.records();
    }

    private void problem(String what) {
        bad.incrementAndGet();
        if (problems.size() < KEPT_PROBLEMS) {
            problems.add(what);
        }
    }

    /** Records whose header and CRC32C were right. */
    public long verified() {
        return verified.get();
    }

    /** Records (or batches) that were wrong. */
    public long bad() {
        return bad.get();
    }

    /** The first problems found. */
    public List<String> problems() {
        return List.copyOf(problems);
    }

    /** The record the next batch should start with: the number of records seen so far. */
    public long nextRecord() {
        return nextRecord;
    }
}
