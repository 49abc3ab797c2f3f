package dev.devmem.ffm.tx;

import dev.devmem.api.DevmemException;
import dev.devmem.api.DevmemProtocolException;
import dev.devmem.ffm.rx.CmsgWalker;
import dev.devmem.ffm.sys.LinuxConstants;
import dev.devmem.ffm.sys.Structs;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Parses the control messages of one {@code recvmsg(MSG_ERRQUEUE)} on a socket with
 * {@code SO_ZEROCOPY} into zerocopy completion notices. Reusable and allocation-free, like
 * {@link CmsgWalker} (which it walks with, so nothing outside {@code [0, msg_controllen)} is read).
 *
 * <p>What the kernel writes (net/ipv4/ip_sockglue.c {@code ip_recv_error}, net/ipv6/datagram.c
 * {@code ipv6_recv_error}; confirmed on Linux 6.18):
 * <ul>
 *   <li>AF_INET: level {@code SOL_IP} (0), type {@code IP_RECVERR} (11), 32 data bytes
 *       ({@code struct sock_extended_err} + {@code struct sockaddr_in}), {@code cmsg_len} 48;</li>
 *   <li>AF_INET6, v4-mapped peers included: level {@code SOL_IPV6} (41), type {@code IPV6_RECVERR}
 *       (25), 44 data bytes ({@code sock_extended_err} + {@code sockaddr_in6}), {@code cmsg_len} 60.</li>
 * </ul>
 * In the {@code sock_extended_err}: {@code ee_origin} 5 ({@code SO_EE_ORIGIN_ZEROCOPY}),
 * {@code ee_errno} 0, {@code [ee_info, ee_data]} an inclusive range of u32 send numbers (it may
 * wrap: {@code ee_data < ee_info} unsigned), {@code ee_code} bit 0 = {@code SO_EE_CODE_ZEROCOPY_COPIED}.
 *
 * <p>Strict, because a mis-parsed notice would let memory be rewritten while the device still
 * reads it: {@code MSG_CTRUNC} (the kernel dropped a notice that did not fit, so its sends could
 * never complete), a notice shorter than {@code sock_extended_err}, an origin other than zerocopy
 * (this library never asks for ICMP errors or timestamps), or a non-zero errno are each a
 * {@link DevmemProtocolException}. Other cmsgs are walked over.
 */
public final class ZerocopyNotices {
    /** What the kernel writes for AF_INET: {@code CMSG_LEN(16 + 16)}. */
    public static final int IPV4_CMSG_LEN = 48;
    /** What the kernel writes for AF_INET6: {@code CMSG_LEN(16 + 28)}. */
    public static final int IPV6_CMSG_LEN = 60;
    /** Room for one notice of either family, with slack for an unexpected extra cmsg. */
    public static final int CONTROL_BYTES = 128;

    private static final long EE_SIZE = Structs.SOCK_EXTENDED_ERR.byteSize();
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED;

    /** Receives one notice: the inclusive u32 range {@code [lo, hi]} and the raw {@code ee_code}. */
    @FunctionalInterface
    public interface Sink {
        void notice(int lo, int hi, int code) throws DevmemException;
    }

    private final CmsgWalker walker = new CmsgWalker();

    /**
     * Parses {@code control[0, controllen)} as returned with {@code msgFlags}, calling {@code sink}
     * once per zerocopy notice. Returns the number of notices (0 when the message held none).
     */
    public int parse(MemorySegment control, long controllen, int msgFlags, Sink sink) throws DevmemException {
        if ((msgFlags & LinuxConstants.MSG_CTRUNC) != 0) {
            throw new DevmemProtocolException("recvmsg(MSG_ERRQUEUE) returned MSG_CTRUNC: a completion notification"
                    + " did not fit in " + control.byteSize() + " bytes of control space and the kernel dropped it,"
                    + " so the sends it covered can never be reported complete");
        }
        int notices = 0;
        walker.reset(control, controllen);
        while (walker.next()) {
            if (!isRecvErr(walker.level(), walker.type())) {
                continue;
            }
            long data = walker.dataOffset();
            long dataLen = walker.length() - Structs.CMSGHDR.byteSize();
            if (dataLen < EE_SIZE) {
                throw new DevmemProtocolException(name(walker.level()) + " cmsg at control offset " + walker.position()
                        + " has " + dataLen + " data bytes, fewer than the " + EE_SIZE + " of struct sock_extended_err");
            }
            int errno = control.get(U32, data + Structs.EE_ERRNO);
            int origin = control.get(ValueLayout.JAVA_BYTE, data + Structs.EE_ORIGIN) & 0xFF;
            int code = control.get(ValueLayout.JAVA_BYTE, data + Structs.EE_CODE) & 0xFF;
            int lo = control.get(U32, data + Structs.EE_INFO);
            int hi = control.get(U32, data + Structs.EE_DATA);
            if (origin != LinuxConstants.SO_EE_ORIGIN_ZEROCOPY) {
                throw new DevmemProtocolException("the error queue holds a notification of origin " + origin
                        + " (errno " + errno + "), not a zerocopy completion (origin "
                        + LinuxConstants.SO_EE_ORIGIN_ZEROCOPY + ")");
            }
            if (errno != 0) {
                throw new DevmemProtocolException("a zerocopy completion carries errno " + errno
                        + "; the kernel always reports 0");
            }
            notices++;
            sink.notice(lo, hi, code);
        }
        return notices;
    }

    /** The number of send numbers in the inclusive u32 range {@code [lo, hi]}: 1 to 2^32. */
    public static long rangeLength(int lo, int hi) {
        return Integer.toUnsignedLong(hi - lo) + 1;
    }

    static boolean isRecvErr(int level, int type) {
        return (level == LinuxConstants.SOL_IP && type == LinuxConstants.IP_RECVERR)
                || (level == LinuxConstants.SOL_IPV6 && type == LinuxConstants.IPV6_RECVERR);
    }

    private static String name(int level) {
        return level == LinuxConstants.SOL_IP ? "IP_RECVERR" : "IPV6_RECVERR";
    }
}
