package dev.devmem.ffm.rx;

import dev.devmem.api.DevmemProtocolException;
import dev.devmem.ffm.testing.CmsgBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static dev.devmem.ffm.sys.LinuxConstants.SCM_DEVMEM_DMABUF;
import static dev.devmem.ffm.sys.LinuxConstants.SCM_DEVMEM_LINEAR;
import static dev.devmem.ffm.sys.LinuxConstants.SOL_SOCKET;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CmsgWalkerTest {
    private static final int IPPROTO_TCP = 6;
    private static final int TCP_CM_INQ = 36;
    private static final int SO_TIMESTAMP_OLD = 29;

    private final Arena arena = Arena.ofConfined();
    private final CmsgWalker walker = new CmsgWalker();

    @AfterEach
    void free() {
        arena.close();
    }

    private MemorySegment buffer(long size) {
        MemorySegment m = arena.allocate(size, 8);
        m.fill((byte) 0x5A); // garbage, so a read of unwritten bytes shows
        return m;
    }

    @Test
    void walksALinearThenDmabufsInOrderWithEveryField() throws Exception {
        MemorySegment c = buffer(400);
        CmsgBuilder b = new CmsgBuilder(c).linear(66)
                .dmabuf(0, 4096, 1, 7)
                .dmabuf(4096, 4096, 2, 7)
                .dmabuf(0x1_0000_2000L, 1234, 0x7FFF_FFFF, 7);
        assertThat(b.controllen()).isEqualTo(160);

        walker.reset(c, b.controllen());
        assertThat(walker.next()).isTrue();
        assertThat(walker.isLinear()).isTrue();
        assertThat(walker.isDmabuf()).isFalse();
        assertThat(walker.position()).isZero();
        assertThat(walker.length()).isEqualTo(40);
        assertThat(walker.fragSize()).isEqualTo(66);

        long[][] expected = {{0, 4096, 1}, {4096, 4096, 2}, {0x1_0000_2000L, 1234, 0x7FFF_FFFF}};
        for (int i = 0; i < expected.length; i++) {
            assertThat(walker.next()).isTrue();
            assertThat(walker.isDmabuf()).isTrue();
            assertThat(walker.level()).isEqualTo(SOL_SOCKET);
            assertThat(walker.type()).isEqualTo(SCM_DEVMEM_DMABUF);
            assertThat(walker.position()).isEqualTo(40L * (i + 1));
            assertThat(walker.dataOffset()).isEqualTo(40L * (i + 1) + 16);
            assertThat(walker.fragOffset()).isEqualTo(expected[i][0]);
            assertThat(walker.fragSize()).isEqualTo(expected[i][1]);
            assertThat(walker.fragToken()).isEqualTo((int) expected[i][2]);
            assertThat(walker.dmabufId()).isEqualTo(7);
            assertThat(walker.flags()).isZero();
        }
        assertThat(walker.next()).isFalse();
        assertThat(walker.next()).isFalse();
    }

    @Test
    void walksOverCmsgsOfOtherLevelsAndTypesWithTheirOwnPadding() throws Exception {
        MemorySegment c = buffer(400);
        CmsgBuilder b = new CmsgBuilder(c)
                .other(SOL_SOCKET, SO_TIMESTAMP_OLD, new byte[16]) // 32 bytes, no padding
                .dmabuf(8192, 100, 5, 3)
                .other(IPPROTO_TCP, TCP_CM_INQ, new byte[] {1, 0, 0, 0}) // cmsg_len 20, space 24
                .linear(10);
        assertThat(b.controllen()).isEqualTo(32 + 40 + 24 + 40);

        walker.reset(c, b.controllen());
        assertThat(walker.next()).isTrue();
        assertThat(walker.isDmabuf() || walker.isLinear()).isFalse();
        assertThat(walker.length()).isEqualTo(32);
        assertThat(walker.next()).isTrue();
        assertThat(walker.isDmabuf()).isTrue();
        assertThat(walker.position()).isEqualTo(32);
        assertThat(walker.fragToken()).isEqualTo(5);
        assertThat(walker.next()).isTrue();
        assertThat(walker.level()).isEqualTo(IPPROTO_TCP);
        assertThat(walker.type()).isEqualTo(TCP_CM_INQ);
        assertThat(walker.length()).isEqualTo(20);
        assertThat(c.get(ValueLayout.JAVA_INT, walker.dataOffset())).isEqualTo(1);
        assertThat(walker.next()).isTrue();
        assertThat(walker.position()).isEqualTo(32 + 40 + 24);
        assertThat(walker.isLinear()).isTrue();
        assertThat(walker.fragSize()).isEqualTo(10);
        assertThat(walker.next()).isFalse();
    }

    @Test
    void aBufferExactlyFullIsWalkedWithoutReadingPastIt() throws Exception {
        // The segment is exactly msg_controllen long: any read beyond it would throw.
        MemorySegment c = buffer(120);
        new CmsgBuilder(c).dmabuf(0, 1, 1, 1).dmabuf(4096, 2, 2, 1).dmabuf(8192, 3, 3, 1);
        walker.reset(c, 120);
        int n = 0;
        while (walker.next()) {
            n++;
            assertThat(walker.fragSize()).isEqualTo(n);
        }
        assertThat(n).isEqualTo(3);
    }

    @Test
    void theLastCmsgMayEndWithoutItsPadding() throws Exception {
        MemorySegment c = buffer(64);
        CmsgBuilder b = new CmsgBuilder(c).dmabuf(0, 1, 1, 1).other(IPPROTO_TCP, TCP_CM_INQ, new byte[4]);
        assertThat(b.controllenWithoutLastPadding()).isEqualTo(60);
        MemorySegment exact = c.asSlice(0, 60);
        walker.reset(exact, 60);
        assertThat(walker.next()).isTrue();
        assertThat(walker.next()).isTrue();
        assertThat(walker.length()).isEqualTo(20);
        assertThat(walker.next()).isFalse();
    }

    @Test
    void nothingBeyondMsgControllenIsRead() throws Exception {
        MemorySegment c = buffer(4096);
        CmsgBuilder b = new CmsgBuilder(c).dmabuf(0, 1, 1, 1);
        b.header(3, SOL_SOCKET, SCM_DEVMEM_DMABUF); // malformed, but past msg_controllen
        walker.reset(c, 40);
        assertThat(walker.next()).isTrue();
        assertThat(walker.next()).isFalse();
    }

    @Test
    void anEmptyControlBufferHasNoMessages() throws Exception {
        assertThat(walker.reset(buffer(0), 0).next()).isFalse();
        assertThat(walker.reset(MemorySegment.NULL, 0).next()).isFalse();
        assertThat(walker.reset(buffer(400), 0).next()).isFalse();
    }

    @Test
    void theWalkerIsReusable() throws Exception {
        MemorySegment c = buffer(80);
        new CmsgBuilder(c).dmabuf(0, 1, 1, 1).dmabuf(0, 1, 2, 1);
        for (int round = 0; round < 3; round++) {
            walker.reset(c, 80);
            assertThat(walker.next()).isTrue();
            assertThat(walker.fragToken()).isEqualTo(1);
            assertThat(walker.next()).isTrue();
            assertThat(walker.fragToken()).isEqualTo(2);
            assertThat(walker.next()).isFalse();
        }
    }

    @Test
    void cmsgLenBelowTheHeaderIsRejected() {
        for (long len : new long[] {0, 1, 8, 15}) {
            MemorySegment c = buffer(80);
            CmsgBuilder b = new CmsgBuilder(c).dmabuf(0, 1, 1, 1);
            b.header(len, SOL_SOCKET, 99);
            assertThatThrownBy(() -> walkAll(c, 80))
                    .as("cmsg_len %d", len)
                    .isInstanceOf(DevmemProtocolException.class)
                    .hasMessageContaining("control offset 40")
                    .hasMessageContaining("cmsg_len " + len + ", below the 16-byte header");
        }
    }

    @Test
    void cmsgLenRunningPastMsgControllenIsRejected() {
        MemorySegment c = buffer(200);
        new CmsgBuilder(c).dmabuf(0, 1, 1, 1).header(48, SOL_SOCKET, 99);
        assertThatThrownBy(() -> walkAll(c, 80))
                .isInstanceOf(DevmemProtocolException.class)
                .hasMessageContaining("cmsg_len 48, running past msg_controllen 80");
    }

    @Test
    void aCmsgLenOf2To64IsRejectedNotWrappedAround() {
        MemorySegment c = buffer(40);
        new CmsgBuilder(c).header(-8L, SOL_SOCKET, 99);
        assertThatThrownBy(() -> walkAll(c, 40))
                .isInstanceOf(DevmemProtocolException.class)
                .hasMessageContaining("cmsg_len 18446744073709551608");
    }

    @Test
    void aTruncatedLastHeaderIsRejected() {
        MemorySegment c = buffer(80);
        new CmsgBuilder(c).dmabuf(0, 1, 1, 1).dmabuf(0, 1, 2, 1);
        assertThatThrownBy(() -> walkAll(c, 48))
                .isInstanceOf(DevmemProtocolException.class)
                .hasMessageContaining("truncated cmsghdr at control offset 40: only 8 of 16");
        assertThatThrownBy(() -> walkAll(c, 10))
                .isInstanceOf(DevmemProtocolException.class)
                .hasMessageContaining("truncated cmsghdr at control offset 0");
    }

    @Test
    void aDevmemCmsgOfAnyLengthButFortyIsRejected() {
        for (int type : new int[] {SCM_DEVMEM_DMABUF, SCM_DEVMEM_LINEAR}) {
            for (long len : new long[] {16, 20, 36, 39, 41, 48}) {
                MemorySegment c = buffer(64);
                new CmsgBuilder(c).header(len, SOL_SOCKET, type);
                assertThatThrownBy(() -> walkAll(c, 64))
                        .as("type %d len %d", type, len)
                        .isInstanceOf(DevmemProtocolException.class)
                        .hasMessageContaining("has cmsg_len " + len + ", expected CMSG_LEN(sizeof(struct dmabuf_cmsg)) = 40");
            }
        }
    }

    @Test
    void devmemTypeNumbersAtAnotherLevelAreNotDevmem() throws Exception {
        MemorySegment c = buffer(64);
        new CmsgBuilder(c).other(IPPROTO_TCP, SCM_DEVMEM_DMABUF, new byte[4]);
        walker.reset(c, 24);
        assertThat(walker.next()).isTrue();
        assertThat(walker.isDmabuf()).isFalse();
        assertThat(walker.next()).isFalse();
    }

    @Test
    void aControllenOutsideTheBufferIsRejected() {
        assertThatThrownBy(() -> walker.reset(buffer(40), 41))
                .isInstanceOf(DevmemProtocolException.class)
                .hasMessageContaining("msg_controllen 41 is outside the control buffer of 40 bytes");
        assertThatThrownBy(() -> walker.reset(buffer(40), -1))
                .isInstanceOf(DevmemProtocolException.class);
    }

    private void walkAll(MemorySegment c, long controllen) throws DevmemProtocolException {
        walker.reset(c, controllen);
        while (walker.next()) {
            if (walker.isDmabuf()) {
                walker.fragToken();
            }
        }
    }
}
