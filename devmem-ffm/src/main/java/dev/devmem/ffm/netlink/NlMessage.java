package dev.devmem.ffm.netlink;

import dev.devmem.api.DevmemProtocolException;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;

import static dev.devmem.ffm.netlink.NetlinkConstants.NLMSG_HDRLEN;
import static dev.devmem.ffm.netlink.NetlinkConstants.align;

/**
 * One netlink message as received: the {@code nlmsghdr} fields and the whole message's bytes
 * (header included, so offsets in it match the kernel's).
 *
 * @param bytes the message, {@code nlmsg_len} bytes long; not copied, do not modify
 */
public record NlMessage(int type, int flags, int seq, int pid, byte[] bytes) {

    /** Splits one received datagram into its messages, checking every {@code nlmsg_len}. */
    public static List<NlMessage> split(byte[] datagram, int length) throws DevmemProtocolException {
        List<NlMessage> out = new ArrayList<>(2);
        int pos = 0;
        while (length - pos >= NLMSG_HDRLEN) {
            int len = Bytes.i32(datagram, pos);
            if (len < NLMSG_HDRLEN || len > length - pos) {
                throw new DevmemProtocolException("netlink message at byte " + pos + " claims length "
                        + Integer.toUnsignedString(len) + " but the datagram has " + (length - pos) + " bytes left");
            }
            out.add(new NlMessage(Bytes.u16(datagram, pos + 4), Bytes.u16(datagram, pos + 6),
                    Bytes.i32(datagram, pos + 8), Bytes.i32(datagram, pos + 12),
                    Arrays.copyOfRange(datagram, pos, pos + len)));
            pos += Math.min(align(len), length - pos);
        }
        if (pos != length) {
            throw new DevmemProtocolException("netlink datagram has " + (length - pos) + " trailing bytes");
        }
        return out;
    }

    /** Parses one message from its bytes (golden tests, captured replies). */
    public static NlMessage of(byte[] bytes) throws DevmemProtocolException {
        List<NlMessage> all = split(bytes, bytes.length);
        if (all.size() != 1) {
            throw new DevmemProtocolException("expected one netlink message, found " + all.size());
        }
        return all.getFirst();
    }

    public int length() {
        return bytes.length;
    }

    public boolean hasFlags(int mask) {
        return (flags & mask) == mask;
    }

    public String hex() {
        return HexFormat.of().formatHex(bytes);
    }

    @Override
    public String toString() {
        return "NlMessage[type=" + type + ", flags=0x" + Integer.toHexString(flags) + ", seq=" + seq + ", pid="
                + Integer.toUnsignedString(pid) + ", len=" + bytes.length + "]";
    }
}
