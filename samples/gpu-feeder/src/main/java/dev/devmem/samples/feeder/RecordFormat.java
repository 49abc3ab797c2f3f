package dev.devmem.samples.feeder;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;

/**
 * The wire format of one record: a 24-byte header then a fixed-length payload. Every record of a
 * stream has the same size, so record {@code k} occupies stream bytes {@code [k * size, (k + 1) * size)}
 * and a receiver can cut records out of frags by arithmetic alone, without reading the header: the
 * header may sit in device memory that the host cannot read.
 *
 * <pre>
 * offset size  field            (little-endian)
 *  0      4    magic            0x43524D44, the bytes "DMRC"
 *  4      4    payload length   bytes after the header; the same for every record of a stream
 *  8      8    record index     0, 1, 2, ... in stream order
 * 16      4    CRC32C           of the payload bytes (Castagnoli, as java.util.zip.CRC32C)
 * 20      4    reserved         0
 * </pre>
 *
 * <p>The payload is a pure function of (index, position): 64-bit words {@code mix(index, word)}, so a
 * segment gathered into the wrong record or the wrong place breaks that record's CRC.
 */
public record RecordFormat(int payloadLength) {
    public static final int MAGIC = 0x43524D44;
    public static final int HEADER_BYTES = 24;
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public RecordFormat {
        if (payloadLength < 0 || payloadLength > (256 << 20)) {
            throw new IllegalArgumentException("payload length must be in [0, 256 MiB], was " + payloadLength);
        }
    }

    /** The format whose records are {@code recordBytes} long in total, header included. */
    public static RecordFormat ofRecordSize(int recordBytes) {
        if (recordBytes < HEADER_BYTES) {
            throw new IllegalArgumentException("a record is at least the " + HEADER_BYTES + "-byte header, was "
                    + recordBytes);
        }
        return new RecordFormat(recordBytes - HEADER_BYTES);
    }

    public int recordBytes() {
        return HEADER_BYTES + payloadLength;
    }

    /** Writes record {@code index} (header and payload) at the start of {@code dst}. */
    public void write(MemorySegment dst, long index, CRC32C crc) {
        MemorySegment payload = dst.asSlice(HEADER_BYTES, payloadLength);
        fillPayload(payload, index);
        crc.reset();
        crc.update(payload.asByteBuffer());
        dst.set(INT, 0, MAGIC);
        dst.set(INT, 4, payloadLength);
        dst.set(LONG, 8, index);
        dst.set(INT, 16, (int) crc.getValue());
        dst.set(INT, 20, 0);
    }

    /**
     * Checks the record at the start of {@code src}: header fields, the expected index and the payload's
     * CRC32C. Returns {@code null} when it is right, otherwise what is wrong.
     */
    public String verify(MemorySegment src, long expectedIndex, CRC32C crc) {
        int magic = src.get(INT, 0);
        if (magic != MAGIC) {
            return "record " + expectedIndex + ": magic 0x" + Integer.toHexString(magic) + ", expected 0x"
                    + Integer.toHexString(MAGIC);
        }
        int length = src.get(INT, 4);
        if (length != payloadLength) {
            return "record " + expectedIndex + ": payload length " + length + ", expected " + payloadLength;
        }
        long index = src.get(LONG, 8);
        if (index != expectedIndex) {
            return "record " + expectedIndex + ": header says index " + index;
        }
        if (src.get(INT, 20) != 0) {
            return "record " + expectedIndex + ": reserved field not 0";
        }
        crc.reset();
        crc.update(src.asSlice(HEADER_BYTES, payloadLength).asByteBuffer());
        int expected = src.get(INT, 16);
        if ((int) crc.getValue() != expected) {
            return "record " + expectedIndex + ": payload CRC32C 0x" + Integer.toHexString((int) crc.getValue())
                    + ", header says 0x" + Integer.toHexString(expected);
        }
        return null;
    }

    /** The deterministic payload of record {@code index}. */
    static void fillPayload(MemorySegment payload, long index) {
        long words = payload.byteSize() >>> 3;
        long seed = index * 0x9E3779B97F4A7C15L + 0x632BE59BD9B4E019L;
        for (long w = 0; w < words; w++) {
            payload.set(LONG, w << 3, mix(seed + w * 0xD1B54A32D192ED03L));
        }
        long tail = mix(seed - 1);
        for (long b = words << 3; b < payload.byteSize(); b++) {
            payload.set(ValueLayout.JAVA_BYTE, b, (byte) (tail >>> (8 * (b & 7))));
        }
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 33)) * 0xFF51AFD7ED558CCDL;
        return z ^ (z >>> 29);
    }
}
