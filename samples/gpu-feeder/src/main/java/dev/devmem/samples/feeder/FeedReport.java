package dev.devmem.samples.feeder;

/**
 * What one fed connection amounted to.
 *
 * @param records                 records gathered and handed to the consumer
 * @param batches                 device batches
 * @param bytes                   stream bytes received
 * @param receives                receive calls (one {@code DevmemFragBatch} each)
 * @param frags                   frags received, all kinds
 * @param dmabufFrags             of which DMABUF (device memory)
 * @param linearFrags             of which LINEAR (header-split failures: bytes in host memory)
 * @param hostFrags               of which HOST (plain data, no devmem)
 * @param pieces                  scatter-list pieces (one per frag and record it overlaps)
 * @param recordsSpanningFrags    records made of more than one piece
 * @param recordsSpanningReceives records whose pieces came from more than one receive call
 * @param recordsWithLinear       records with at least one LINEAR piece
 * @param maxPiecesPerRecord      the most pieces in one record
 * @param fragsTaken              frags the feeder took hold of
 * @param fragsReleased           frags it released (equal to {@code fragsTaken} at the end)
 * @param overReleases            references dropped more often than taken (must be 0)
 * @param maxFragsHeld            the most frags held at once, sampled at each receive
 * @param elapsedNanos            from the first receive to the last batch completion
 */
public record FeedReport(long records, long batches, long bytes, long receives, long frags, long dmabufFrags,
                         long linearFrags, long hostFrags, long pieces, long recordsSpanningFrags,
                         long recordsSpanningReceives, long recordsWithLinear, int maxPiecesPerRecord,
                         long fragsTaken, long fragsReleased, long overReleases, long maxFragsHeld,
                         long elapsedNanos) {

    /** Pieces per record: how many frags an average record touches. */
    public double fragsPerRecord() {
        return records == 0 ? 0 : (double) pieces / records;
    }

    public double recordsPerSecond() {
        return elapsedNanos == 0 ? 0 : records * 1e9 / elapsedNanos;
    }

    public double batchesPerSecond() {
        return elapsedNanos == 0 ? 0 : batches * 1e9 / elapsedNanos;
    }

    public double mibPerSecond() {
        return elapsedNanos == 0 ? 0 : bytes * 1e9 / elapsedNanos / (1 << 20);
    }
}
