package dev.devmem.ffm.testing;

import dev.devmem.ffm.rx.SocketEndpoint;
import dev.devmem.ffm.sys.LinuxConstants;
import dev.devmem.ffm.sys.Structs;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * One message of a socket's error queue as the kernel laid it out: the first cmsg's header and the
 * {@code sock_extended_err} in it, read independently of the library's parser so that the parser can
 * be checked against it.
 *
 * @param controllen the {@code msg_controllen} returned
 * @param msgFlags   the {@code msg_flags} returned (MSG_ERRQUEUE is set on success)
 * @param cmsgLen    the first cmsg's {@code cmsg_len}
 */
public record ErrqueueNotice(long result, long controllen, int msgFlags, long cmsgLen, int level, int type,
                             int eeErrno, int origin, int eeType, int code, int lo, int hi, byte[] control) {

    /** Polls {@code endpoint}'s fd for POLLERR up to {@code timeoutMillis}, then reads one message; null if none came. */
    public static ErrqueueNotice next(SocketEndpoint endpoint, int timeoutMillis) {
        TxWire.await(endpoint.pollFd(), (short) 0, timeoutMillis);
        return read(endpoint);
    }

    /** One {@code recvmsg(MSG_ERRQUEUE | MSG_DONTWAIT)} with 128 bytes of control space; null on EAGAIN. */
    public static ErrqueueNotice read(SocketEndpoint endpoint) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment msg = a.allocate(Structs.MSGHDR);
            MemorySegment control = a.allocate(128, 8);
            msg.set(ValueLayout.ADDRESS, Structs.MSGHDR_CONTROL, control);
            msg.set(ValueLayout.JAVA_LONG, Structs.MSGHDR_CONTROLLEN, 128);
            long r = endpoint.recvmsg(msg, LinuxConstants.MSG_ERRQUEUE | LinuxConstants.MSG_DONTWAIT);
            if (r == -11) {
                return null;
            }
            long clen = msg.get(ValueLayout.JAVA_LONG, Structs.MSGHDR_CONTROLLEN);
            int flags = msg.get(ValueLayout.JAVA_INT, Structs.MSGHDR_FLAGS);
            if (r < 0 || clen < 16) {
                return new ErrqueueNotice(r, clen, flags, 0, -1, -1, 0, 0, 0, 0, 0, 0, new byte[0]);
            }
            byte[] bytes = control.asSlice(0, clen).toArray(ValueLayout.JAVA_BYTE);
            MemorySegment c = MemorySegment.ofArray(bytes);
            long cmsgLen = c.get(ValueLayout.JAVA_LONG_UNALIGNED, 0);
            int level = c.get(ValueLayout.JAVA_INT_UNALIGNED, 8);
            int type = c.get(ValueLayout.JAVA_INT_UNALIGNED, 12);
            return new ErrqueueNotice(r, clen, flags, cmsgLen, level, type,
                    c.get(ValueLayout.JAVA_INT_UNALIGNED, 16), bytes[20] & 0xFF, bytes[21] & 0xFF, bytes[22] & 0xFF,
                    c.get(ValueLayout.JAVA_INT_UNALIGNED, 24), c.get(ValueLayout.JAVA_INT_UNALIGNED, 28), bytes);
        }
    }

    /** Reads every queued message, waiting up to {@code timeoutMillis} for the first. */
    public static java.util.List<ErrqueueNotice> drain(SocketEndpoint endpoint, int timeoutMillis) {
        java.util.List<ErrqueueNotice> out = new java.util.ArrayList<>();
        ErrqueueNotice n = next(endpoint, timeoutMillis);
        while (n != null) {
            out.add(n);
            n = read(endpoint);
        }
        return out;
    }

    /** Waits (up to {@code timeoutMillis} per message) until notices cover {@code count} send numbers. */
    public static java.util.List<ErrqueueNotice> awaitCovering(SocketEndpoint endpoint, long count, int timeoutMillis) {
        java.util.List<ErrqueueNotice> out = new java.util.ArrayList<>();
        long covered = 0;
        while (covered < count) {
            ErrqueueNotice n = next(endpoint, timeoutMillis);
            if (n == null) {
                break;
            }
            out.add(n);
            covered += Integer.toUnsignedLong(n.hi - n.lo) + 1;
        }
        return out;
    }

    public long numbers() {
        return Integer.toUnsignedLong(hi - lo) + 1;
    }
}
