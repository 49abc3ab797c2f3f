package dev.devmem.samples.feeder;

/**
 * One gathered batch as the consumer sees it: records {@code [firstRecord, firstRecord + records)},
 * each {@code recordBytes} long, laid end to end in {@code buffer}, which the consumer recycles.
 */
public record GatheredBatch(long sequence, long firstRecord, int records, int recordBytes, DeviceBuffer buffer) {
}
