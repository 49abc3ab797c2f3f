package dev.devmem.samples.feeder;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.zip.CRC32C;

import static org.assertj.core.api.Assertions.assertThat;

class RecordFormatTest {
    private final RecordFormat format = RecordFormat.ofRecordSize(1000);
    private final CRC32C crc = new CRC32C();

    @Test
    void aWrittenRecordVerifies() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment r = arena.allocate(1000);
            format.write(r, 42, crc);
            assertThat(format.verify(r, 42, crc)).isNull();
            assertThat(r.get(ValueLayout.JAVA_INT_UNALIGNED, 0)).isEqualTo(RecordFormat.MAGIC);
            assertThat(format.verify(r, 43, crc)).isEqualTo("record 43: header says index 42");
        }
    }

    @Test
    void everyCorruptionIsCaught() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment r = arena.allocate(1000);
            MemorySegment other = arena.allocate(1000);
            format.write(other, 43, crc);
            for (long at : new long[]{0, 5, 9, 17, 21, 24, 500, 999}) {
                format.write(r, 42, crc);
                r.set(ValueLayout.JAVA_BYTE, at, (byte) (r.get(ValueLayout.JAVA_BYTE, at) ^ 1));
                assertThat(format.verify(r, 42, crc)).as("bit flipped at %d", at).isNotNull();
            }
            // a piece of the next record gathered into this one: same offsets, other record's bytes
            format.write(r, 42, crc);
            MemorySegment.copy(other, 600, r, 600, 100);
            assertThat(format.verify(r, 42, crc)).contains("payload CRC32C");
        }
    }
}
