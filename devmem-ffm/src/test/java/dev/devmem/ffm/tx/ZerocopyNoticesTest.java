package dev.devmem.ffm.tx;

import dev.devmem.api.DevmemProtocolException;
import dev.devmem.ffm.testing.CmsgBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

import static dev.devmem.ffm.sys.LinuxConstants.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The notice parser on buffers laid out as the kernel's {@code put_cmsg} lays them out; the live
 * kernel's own bytes go through it in {@code KernelZerocopyTest}.
 */
class ZerocopyNoticesTest {
    private final Arena arena = Arena.ofConfined();
    private final MemorySegment control = arena.allocate(256, 8);
    private final ZerocopyNotices parser = new ZerocopyNotices();
    private final List<int[]> seen = new ArrayList<>();

    @AfterEach
    void close() {
        arena.close();
    }

    /** {@code struct sock_extended_err} followed by {@code addrLen} zero bytes of offender address. */
    static byte[] ee(int errno, int origin, int code, int lo, int hi, int addrLen) {
        byte[] b = new byte[16 + addrLen];
        put(b, 0, errno);
        b[4] = (byte) origin;
        b[6] = (byte) code;
        put(b, 8, lo);
        put(b, 12, hi);
        return b;
    }

    private static void put(byte[] b, int at, int v) {
        for (int i = 0; i < 4; i++) {
            b[at + i] = (byte) (v >>> (8 * i));
        }
    }

    private int parse(long controllen, int flags) throws Exception {
        return parser.parse(control, controllen, flags, (lo, hi, code) -> seen.add(new int[]{lo, hi, code}));
    }

    @Test
    void anIpv4NoticeIs48BytesAndGivesItsRangeAndCode() throws Exception {
        CmsgBuilder b = new CmsgBuilder(control).other(SOL_IP, IP_RECVERR, ee(0, 5, 1, 0, 2, 16));
        assertThat(b.controllen()).isEqualTo(48);
        assertThat(parse(b.controllen(), MSG_ERRQUEUE)).isEqualTo(1);
        assertThat(seen).containsExactly(new int[]{0, 2, 1});
    }

    @Test
    void anIpv6NoticeIs60BytesAndParsesTheSame() throws Exception {
        CmsgBuilder b = new CmsgBuilder(control).other(SOL_IPV6, IPV6_RECVERR, ee(0, 5, 0, 7, 7, 28));
        assertThat(b.controllen()).isEqualTo(64);
        assertThat(parse(b.controllen(), MSG_ERRQUEUE)).isEqualTo(1);
        assertThat(seen).containsExactly(new int[]{7, 7, 0});
    }

    @Test
    void aWrappingRangeKeepsItsU32Ends() throws Exception {
        CmsgBuilder b = new CmsgBuilder(control).other(SOL_IP, IP_RECVERR, ee(0, 5, 0, 0xFFFF_FFFE, 1, 16));
        parse(b.controllen(), 0);
        assertThat(seen).containsExactly(new int[]{0xFFFF_FFFE, 1, 0});
        assertThat(ZerocopyNotices.rangeLength(0xFFFF_FFFE, 1)).isEqualTo(4);
        assertThat(ZerocopyNotices.rangeLength(5, 5)).isEqualTo(1);
        assertThat(ZerocopyNotices.rangeLength(0, -1)).isEqualTo(1L << 32);
    }

    @Test
    void otherCmsgsAreWalkedOver() throws Exception {
        CmsgBuilder b = new CmsgBuilder(control)
                .other(SOL_SOCKET, 29 /* SCM_TIMESTAMPING */, new byte[48])
                .other(SOL_IP, IP_RECVERR, ee(0, 5, 1, 3, 9, 16));
        assertThat(parse(b.controllen(), 0)).isEqualTo(1);
        assertThat(seen).containsExactly(new int[]{3, 9, 1});
    }

    @Test
    void aMessageWithoutANoticeGivesNone() throws Exception {
        assertThat(parse(0, MSG_ERRQUEUE)).isZero();
        assertThat(seen).isEmpty();
    }

    @Test
    void msgCtruncMeansALostNoticeAndIsAProtocolError() {
        new CmsgBuilder(control).other(SOL_IP, IP_RECVERR, ee(0, 5, 1, 0, 0, 16));
        assertThatThrownBy(() -> parse(48, MSG_ERRQUEUE | MSG_CTRUNC))
                .isInstanceOf(DevmemProtocolException.class).hasMessageContaining("MSG_CTRUNC");
    }

    @Test
    void aNoticeShorterThanSockExtendedErrIsAProtocolError() {
        CmsgBuilder b = new CmsgBuilder(control).other(SOL_IP, IP_RECVERR, new byte[12]);
        assertThatThrownBy(() -> parse(b.controllen(), 0))
                .isInstanceOf(DevmemProtocolException.class).hasMessageContaining("12 data bytes");
    }

    @Test
    void anotherOriginIsAProtocolError() {
        CmsgBuilder b = new CmsgBuilder(control).other(SOL_IP, IP_RECVERR, ee(111, 2 /* ICMP */, 3, 0, 0, 16));
        assertThatThrownBy(() -> parse(b.controllen(), 0))
                .isInstanceOf(DevmemProtocolException.class).hasMessageContaining("origin 2");
        assertThat(seen).isEmpty();
    }

    @Test
    void aZerocopyNoticeWithAnErrnoIsAProtocolError() {
        CmsgBuilder b = new CmsgBuilder(control).other(SOL_IP, IP_RECVERR, ee(104, 5, 0, 0, 0, 16));
        assertThatThrownBy(() -> parse(b.controllen(), 0))
                .isInstanceOf(DevmemProtocolException.class).hasMessageContaining("errno 104");
    }

    @Test
    void aCmsgRunningPastMsgControllenIsCaughtByTheWalker() {
        CmsgBuilder b = new CmsgBuilder(control).other(SOL_IP, IP_RECVERR, ee(0, 5, 0, 0, 0, 16));
        assertThatThrownBy(() -> parse(b.controllen() - 24, 0))
                .isInstanceOf(DevmemProtocolException.class).hasMessageContaining("running past msg_controllen");
        assertThatThrownBy(() -> parse(control.byteSize() + 8, 0))
                .isInstanceOf(DevmemProtocolException.class).hasMessageContaining("outside the control buffer");
    }
}
