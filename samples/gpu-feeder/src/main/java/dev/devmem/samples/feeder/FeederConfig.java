package dev.devmem.samples.feeder;

import java.util.Objects;

/**
 * How records are framed and batched.
 *
 * @param format          the record format (fixed record size)
 * @param recordsPerBatch records per device batch
 * @param tokenBudget     the receiver's token budget ({@code DevmemReceiver.tokenBudget}): the most frags
 *                        the feeder can hold at once. It must not be smaller than the receiver's, or
 *                        the feed fails when it runs out of frag slots
 */
public record FeederConfig(RecordFormat format, int recordsPerBatch, int tokenBudget) {
    public FeederConfig {
        Objects.requireNonNull(format, "format");
        if (recordsPerBatch < 1) {
            throw new IllegalArgumentException("records per batch must be positive, was " + recordsPerBatch);
        }
        if (tokenBudget < 4) {
            throw new IllegalArgumentException("token budget must be at least 4, was " + tokenBudget);
        }
    }

    /** The largest batch buffer a device needs. */
    public long maxBatchBytes() {
        return (long) recordsPerBatch * format.recordBytes();
    }

    /**
     * A batch is handed on early, at a record boundary, once it pins this many pieces: a quarter of the
     * budget, so a batch never waits for frags the library will not deliver while others are held.
     */
    public int pieceLimit() {
        return Math.max(1, tokenBudget / 4);
    }
}
