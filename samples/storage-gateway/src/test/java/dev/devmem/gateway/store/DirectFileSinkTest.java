package dev.devmem.gateway.store;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The O_DIRECT sink on this host's disk: aligned frags go out from their own memory (pwritev),
 * unaligned ones through the staging buffer, syncs in between rewrite the padded tail block, and
 * the committed file holds exactly the bytes written, in order, with the padding cut off.
 */
class DirectFileSinkTest {
    @TempDir
    Path dir;

    @Test
    void mixedAlignmentWritesGiveExactlyTheBytes() throws Exception {
        FileObjectStore store = FileObjectStore.open(dir, DirectIo.Mode.ON);
        assertThat(store.directIo()).as(store.describe()).isTrue();
        Random random = new Random(7);
        ByteArrayOutputStream expected = new ByteArrayOutputStream();
        DirectFileSink sink = (DirectFileSink) store.create("mixed");
        try (Arena arena = Arena.ofConfined()) {
            long pos = 0;
            // aligned pieces at aligned positions, then a short one that misaligns everything after it, a
            // sync mid-block, more pieces, and enough to wrap the staging buffer
            int[] lengths = {4096, 8192, 4096, 1000, 4096, 4096, 3096, 4096, 12288, 5 << 20, 77, 4096};
            for (int i = 0; i < lengths.length; i++) {
                MemorySegment seg = arena.allocate(lengths[i], 4096);
                byte[] bytes = new byte[lengths[i]];
                random.nextBytes(bytes);
                MemorySegment.copy(MemorySegment.ofArray(bytes), 0, seg, 0, bytes.length);
                sink.write(seg, pos);
                pos += bytes.length;
                expected.write(bytes);
                if (i == 4 || i == 8) {
                    assertThat(sink.sync()).isEqualTo(pos);
                }
            }
            // straight from memory: the first three, and once 1000 + 4096 + 4096 + 3096 realigned the stream,
            // the next three; the 77-byte piece misaligns the last one again
            assertThat(sink.zeroCopyBytes()).isEqualTo(4096 + 8192 + 4096 + 4096 + 12288 + (5 << 20));
            sink.commit(new Manifest("mixed", pos, "00000000", 0, 0, 0, "test", "now", "file", "test", 0));
        }
        assertThat(Files.readAllBytes(dir.resolve("mixed.data"))).isEqualTo(expected.toByteArray());
        assertThat(store.manifest("mixed")).isPresent();
    }
}
