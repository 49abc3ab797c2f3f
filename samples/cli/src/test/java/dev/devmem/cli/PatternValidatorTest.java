package dev.devmem.cli;

import dev.devmem.ffm.testing.NetcatPattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The validator against the test-jar's independent {@link NetcatPattern}. */
class PatternValidatorTest {

    /** Feeds {@code stream} (starting at stream offset 0) to {@code v} in pieces of {@code piece} bytes. */
    private static void feed(PatternValidator v, MemorySegment stream, int piece) {
        for (long off = 0; off < stream.byteSize(); off += piece) {
            long n = Math.min(piece, stream.byteSize() - off);
            v.check(stream.asSlice(off, n), off, n);
        }
    }

    private static MemorySegment stream(NetcatPattern p, int length) {
        MemorySegment s = MemorySegment.ofArray(new byte[length]);
        p.fill(s, 0);
        return s;
    }

    @ParameterizedTest
    @CsvSource({"7,0,1", "7,10,1", "7,0,3", "7,10,6", "7,0,7", "7,10,4096", "2,0,5", "256,10,1000", "256,0,65536", "8,10,100000"})
    void autoTerminatorAcceptsBothForAnyPieceSize(int period, int terminator, int piece) {
        PatternValidator v = new PatternValidator(period, PatternValidator.AUTO);
        feed(v, stream(new NetcatPattern(period, terminator), 300_007), piece);
        assertThat(v.terminator()).isEqualTo(terminator);
        assertThat(v.bytesChecked()).isEqualTo(300_007);
    }

    @ParameterizedTest
    @CsvSource({"0,1", "0,4096", "10,13", "10,65536", "0,100000"})
    void everyFlippedOffsetIsNamedExactly(int terminator, int piece) {
        NetcatPattern p = new NetcatPattern(7, terminator);
        for (long bad : new long[] {0, 5, 6, 7, 13, 4095, 4096, 65_535, 65_536, 200_003, 299_999}) {
            MemorySegment s = stream(p, 300_000);
            s.set(ValueLayout.JAVA_BYTE, bad, (byte) (s.get(ValueLayout.JAVA_BYTE, bad) ^ 0x40));
            PatternValidator v = new PatternValidator(7, PatternValidator.AUTO);
            assertThatThrownBy(() -> feed(v, s, piece))
                    .isInstanceOf(DataMismatchException.class)
                    .hasMessageStartingWith("pattern mismatch at stream offset " + bad + ":");
        }
    }

    @Test
    void theFirstPeriodFixesTheTerminatorAndALaterDeviationIsAnError() {
        MemorySegment s = stream(NetcatPattern.kernelDoc(), 10_000);
        s.set(ValueLayout.JAVA_BYTE, 7 * 100 + 6, (byte) 0x0A); // a newline terminator in period 101
        PatternValidator v = new PatternValidator(7, PatternValidator.AUTO);
        assertThatThrownBy(() -> feed(v, s, 1000))
                .isInstanceOf(DataMismatchException.class)
                .hasMessage("pattern mismatch at stream offset 706: expected 0x00, got 0x0a (pattern 1..6 then 0x00)");
    }

    @Test
    void aTerminatorThatIsNeitherZeroNorNewlineIsAnErrorAtItsOffset() {
        MemorySegment s = stream(NetcatPattern.kernelDoc(), 100);
        s.set(ValueLayout.JAVA_BYTE, 6, (byte) 'x');
        PatternValidator v = new PatternValidator(7, PatternValidator.AUTO);
        assertThatThrownBy(() -> feed(v, s, 3))
                .isInstanceOf(DataMismatchException.class)
                .hasMessageContaining("stream offset 6: expected the terminator 0x00 or 0x0a, got 0x78");
    }

    @Test
    void anExplicitTerminatorRejectsTheOther() {
        PatternValidator v = new PatternValidator(7, 0x0A);
        assertThatThrownBy(() -> feed(v, stream(NetcatPattern.kernelDoc(), 100), 100))
                .isInstanceOf(DataMismatchException.class)
                .hasMessageStartingWith("pattern mismatch at stream offset 6: expected 0x0a, got 0x00");
    }

    @Test
    void piecesMayStartAnywhereInTheStream() {
        // what a validator sees when earlier bytes were not host-readable: the first terminator it can read decides
        NetcatPattern p = NetcatPattern.ncdevmem(7);
        MemorySegment s = MemorySegment.ofArray(p.bytes(1_000_003, 5000));
        PatternValidator v = new PatternValidator(7, PatternValidator.AUTO);
        v.check(s, 1_000_003, 5000);
        assertThat(v.terminator()).isEqualTo(0x0A);
        assertThatThrownBy(() -> v.check(MemorySegment.ofArray(NetcatPattern.kernelDoc().bytes(2_000_000, 50)), 2_000_000, 50))
                .isInstanceOf(DataMismatchException.class);
    }

    @Test
    void onlyTheGivenLengthIsChecked() {
        MemorySegment s = stream(NetcatPattern.kernelDoc(), 100);
        s.set(ValueLayout.JAVA_BYTE, 50, (byte) 0x55);
        PatternValidator v = new PatternValidator(7, PatternValidator.AUTO);
        v.check(s, 0, 50);
        assertThat(v.bytesChecked()).isEqualTo(50);
    }

    @Test
    void checkingAllocatesNothing() {
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        NetcatPattern p = NetcatPattern.kernelDoc();
        try (Arena arena = Arena.ofConfined()) {
            int frag = 4096;
            int frags = 7 * 32; // the memory holds whole periods, so slice k % frags continues the stream at k
            MemorySegment memory = arena.allocate((long) frag * frags);
            p.fill(memory, 0);
            MemorySegment[] slices = new MemorySegment[frags];
            for (int i = 0; i < frags; i++) {
                slices[i] = memory.asSlice((long) i * frag, frag);
            }
            PatternValidator v = new PatternValidator(7, PatternValidator.AUTO);
            long pos = 0;
            for (int round = 0; round < 200; round++) { // warm up (and JIT)
                for (int i = 0; i < frags; i++, pos += frag) {
                    v.check(slices[(int) (pos / frag % frags)], pos, frag);
                }
            }
            long tid = Thread.currentThread().threadId();
            long before = threads.getThreadAllocatedBytes(tid);
            for (int round = 0; round < 200; round++) {
                for (int i = 0; i < frags; i++, pos += frag) {
                    v.check(slices[(int) (pos / frag % frags)], pos, frag);
                }
            }
            long allocated = threads.getThreadAllocatedBytes(tid) - before;
            assertThat(allocated).as("bytes allocated while checking 44800 frags").isLessThan(4096);
        }
    }

    @Test
    void periodsOutsideAByteAreRefused() {
        assertThatThrownBy(() -> new PatternValidator(1, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new PatternValidator(257, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new PatternValidator(7, 3)).isInstanceOf(IllegalArgumentException.class);
    }
}
