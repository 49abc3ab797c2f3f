package dev.devmem.cli;

import dev.devmem.api.DevmemFrag;
import dev.devmem.api.FragKind;
import dev.devmem.ffm.testing.NetcatPattern;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class StreamCheckerTest {
    private static final NetcatPattern PATTERN = NetcatPattern.kernelDoc();

    /** A frag of the pattern at {@code pos}; device memory when not readable (segment() throws, as the API says). */
    static final class FakeFrag implements DevmemFrag {
        final FragKind kind;
        final long pos;
        final MemorySegment bytes;
        final boolean readable;
        int releases;

        FakeFrag(FragKind kind, long pos, int length, boolean readable) {
            this.kind = kind;
            this.pos = pos;
            this.bytes = MemorySegment.ofArray(PATTERN.bytes(pos, length));
            this.readable = readable;
        }

        @Override public FragKind kind() { return kind; }
        @Override public int dmabufId() { return kind == FragKind.DMABUF ? 1 : 0; }
        @Override public long offset() { return 0; }
        @Override public int length() { return (int) bytes.byteSize(); }
        @Override public long streamPosition() { return pos; }
        @Override public void release() { releases++; }
        @Override public boolean isReleased() { return releases > 0; }
        @Override public boolean isHostReadable() { return readable; }

        @Override
        public MemorySegment segment() {
            if (!readable) {
                throw new UnsupportedOperationException("device memory");
            }
            return bytes.asReadOnly();
        }
    }

    @Test
    void deviceMemoryFragsAreCountedAsNotValidatedNotPretendedChecked() {
        StreamChecker c = new StreamChecker(new PatternValidator(7, PatternValidator.AUTO), StreamChecker.UNLIMITED);
        FakeFrag linear = new FakeFrag(FragKind.LINEAR, 0, 100, true);
        FakeFrag gpu1 = new FakeFrag(FragKind.DMABUF, 100, 4096, false);
        FakeFrag gpu2 = new FakeFrag(FragKind.DMABUF, 4196, 4096, false);
        FakeFrag host = new FakeFrag(FragKind.LINEAR, 8292, 50, true);
        for (FakeFrag f : new FakeFrag[] {linear, gpu1, gpu2, host}) {
            c.accept(f);
            assertThat(f.releases).as("released once").isEqualTo(1);
        }
        assertThat(c.bytes()).isEqualTo(8342);
        assertThat(c.bytesValidated()).isEqualTo(150);
        assertThat(c.bytesNotValidated()).isEqualTo(8192);
        assertThat(c.fragsNotValidated()).isEqualTo(2);

        ReceiveSession.Result r = new ReceiveSession.Result("linux", null, null, null, 0, c, null,
                new MeterReadings(new io.micrometer.core.instrument.simple.SimpleMeterRegistry()), 1, null);
        assertThat(Reports.everyByteValidated(r)).isFalse();
        assertThat(Reports.validationLine(r)).contains("8192 bytes in 2 frags NOT validated: device memory");
        assertThat(Reports.receiveJson("recv", r).get("validation").get("everyByte").asBoolean()).isFalse();
    }

    @Test
    void aWrongByteFailsNamingItsStreamOffsetAndTheFragIsStillReleased() {
        StreamChecker c = new StreamChecker(new PatternValidator(7, PatternValidator.AUTO), StreamChecker.UNLIMITED);
        c.accept(new FakeFrag(FragKind.DMABUF, 0, 4096, true));
        FakeFrag bad = new FakeFrag(FragKind.DMABUF, 4096, 4096, true);
        bad.bytes.set(ValueLayout.JAVA_BYTE, 17, (byte) 0x7F);
        assertThatThrownBy(() -> c.accept(bad)).isInstanceOf(DataMismatchException.class)
                .hasMessageStartingWith("pattern mismatch at stream offset 4113:");
        assertThat(bad.releases).isEqualTo(1);
    }

    @Test
    void aGapOrRepeatIsADataError() {
        StreamChecker c = new StreamChecker(null, StreamChecker.UNLIMITED);
        c.accept(new FakeFrag(FragKind.HOST, 0, 10, true));
        FakeFrag gap = new FakeFrag(FragKind.HOST, 11, 10, true);
        assertThatThrownBy(() -> c.accept(gap)).isInstanceOf(DataMismatchException.class)
                .hasMessageContaining("stream offset 11 does not continue the stream at 10");
        assertThat(gap.releases).isEqualTo(1);
    }

    @Test
    void theLimitCutsAFragAndLaterFragsAreOnlyReleased() {
        StreamChecker c = new StreamChecker(new PatternValidator(7, 0), 6000);
        c.accept(new FakeFrag(FragKind.DMABUF, 0, 4096, true));
        assertThat(c.reachedLimit()).isFalse();
        FakeFrag straddling = new FakeFrag(FragKind.DMABUF, 4096, 4096, true);
        straddling.bytes.set(ValueLayout.JAVA_BYTE, 4000, (byte) 0x7F); // past the limit: not looked at
        c.accept(straddling);
        FakeFrag after = new FakeFrag(FragKind.DMABUF, 8192, 4096, true);
        c.accept(after);
        assertThat(c.reachedLimit()).isTrue();
        assertThat(c.bytes()).isEqualTo(6000);
        assertThat(c.bytesValidated()).isEqualTo(6000);
        assertThat(c.frags()).isEqualTo(2);
        assertThat(after.releases).isEqualTo(1);
    }
}
