package dev.devmem.ffm.testing;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class NetcatPatternTest {

    @Test
    void theKernelDocStreamIsOneToSixThenZero() {
        assertThat(NetcatPattern.kernelDoc().bytes(0, 15))
                .containsExactly(1, 2, 3, 4, 5, 6, 0, 1, 2, 3, 4, 5, 6, 0, 1);
    }

    @Test
    void ncdevmemValidationIsOneToNMinusOneThenNewline() {
        assertThat(NetcatPattern.ncdevmem(8).bytes(0, 9)).containsExactly(1, 2, 3, 4, 5, 6, 7, 0x0A, 1);
        assertThat(NetcatPattern.ncdevmem(7).bytes(5, 4)).containsExactly(6, 0x0A, 1, 2);
    }

    @Test
    void fillAtAnyOffsetAgreesWithAtAcrossWindowBoundaries() {
        NetcatPattern p = new NetcatPattern(13, 0);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment m = arena.allocate(300_001);
            long start = 1_000_000_007L;
            p.fill(m, start);
            for (long i = 0; i < m.byteSize(); i += 997) {
                assertThat(m.get(ValueLayout.JAVA_BYTE, i)).isEqualTo(p.at(start + i));
            }
            assertThat(p.firstMismatch(m, start)).isEqualTo(-1);
            assertThat(p.firstMismatch(m, start + 1)).isEqualTo(start + 1);
        }
    }

    @Test
    void theFirstWrongByteIsReportedAtItsStreamOffset() {
        NetcatPattern p = NetcatPattern.kernelDoc();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment m = arena.allocate(200_000);
            p.fill(m, 42);
            m.set(ValueLayout.JAVA_BYTE, 150_000, (byte) 0x77);
            m.set(ValueLayout.JAVA_BYTE, 190_000, (byte) 0x77);
            assertThat(p.firstMismatch(m, 42)).isEqualTo(150_042);
            assertThatThrownBy(() -> p.verify(m, 42))
                    .isInstanceOf(AssertionError.class)
                    .hasMessageContaining("stream offset 150042")
                    .hasMessageContaining("got 0x77");
        }
    }

    @Test
    void periodsAndTerminatorsOutsideTheDefinitionAreRefused() {
        assertThatThrownBy(() -> new NetcatPattern(1, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new NetcatPattern(257, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new NetcatPattern(7, 1)).isInstanceOf(IllegalArgumentException.class);
        assertThat(new NetcatPattern(256, 0x0A).bytes(254, 3)).containsExactly((byte) 255, 0x0A, 1);
    }
}
