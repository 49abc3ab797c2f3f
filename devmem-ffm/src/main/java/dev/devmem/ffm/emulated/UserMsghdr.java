package dev.devmem.ffm.emulated;

import dev.devmem.api.Errno;
import dev.devmem.ffm.sys.Structs;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static dev.devmem.ffm.sys.LinuxConstants.MSG_CMSG_CLOEXEC;
import static dev.devmem.ffm.sys.LinuxConstants.SOL_SOCKET;

/**
 * The caller's {@code struct msghdr} during one emulated recvmsg, as the kernel sees it: an iov
 * iterator ({@code copy_to_iter}) and a control buffer that takes whole cmsgs only
 * ({@code put_cmsg_notrunc}). Reused across calls by one socket's thread.
 */
final class UserMsghdr {
    private static final int UIO_MAXIOV = 1024;
    private static final int CMSG_SPACE = Structs.DEVMEM_CMSG_SPACE; // 40 = CMSG_LEN(24) = CMSG_SPACE(24)
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED;

    // the caller's iov during one recvmsg
    private long[] iovBase = new long[8];
    private long[] iovLen = new long[8];
    private int iovCount;
    private int iovIdx;
    private long iovOff;
    // the caller's control buffer during one recvmsg
    private MemorySegment control;
    private long controlLen;
    private long controlUsed;
    // The caller's control buffer and iovec array of the last call, as segments: a receive engine
    // passes the same native buffers on every call, and making a segment per call for them is
    // measurable. Reused only for the same address and at most the same length.
    private MemorySegment lastControl = MemorySegment.NULL;
    private MemorySegment lastIovArray = MemorySegment.NULL;

    /**
     * Takes {@code msg}'s iov and control buffer for this call. Returns how many bytes the iov can
     * take (capped at MAX_RW_COUNT), or {@code -errno} as {@code ____sys_recvmsg} would fail.
     */
    long open(MemorySegment msg) {
        long iovPtr = msg.get(ValueLayout.JAVA_LONG, Structs.MSGHDR_IOV);
        long iovLenCount = msg.get(ValueLayout.JAVA_LONG, Structs.MSGHDR_IOVLEN);
        if (iovLenCount < 0 || iovLenCount > UIO_MAXIOV) {
            return -Errno.EMSGSIZE.number();
        }
        if (iovLenCount > 0 && iovPtr == 0) {
            return -Errno.EFAULT.number();
        }
        long len = loadIov(iovPtr, (int) iovLenCount);
        if (len < 0) {
            return -Errno.EINVAL.number();
        }
        long ctrlPtr = msg.get(ValueLayout.JAVA_LONG, Structs.MSGHDR_CONTROL);
        controlLen = ctrlPtr == 0 ? 0 : msg.get(ValueLayout.JAVA_LONG, Structs.MSGHDR_CONTROLLEN);
        control = ctrlPtr == 0 ? null : controlSegment(ctrlPtr, controlLen);
        controlUsed = 0;
        return len;
    }

    /** {@code ____sys_recvmsg} on success: {@code msg_controllen}, {@code msg_flags}, {@code msg_namelen} written back. */
    void writeBack(MemorySegment msg, int flags) {
        msg.set(ValueLayout.JAVA_LONG, Structs.MSGHDR_CONTROLLEN, controlUsed);
        msg.set(ValueLayout.JAVA_INT, Structs.MSGHDR_FLAGS, flags & MSG_CMSG_CLOEXEC);
        if (msg.get(ValueLayout.JAVA_LONG, Structs.MSGHDR_NAME) != 0) {
            msg.set(ValueLayout.JAVA_INT, Structs.MSGHDR_NAMELEN, 0);
        }
    }

    /** The call is over: the caller's control buffer is not ours any more. */
    void close() {
        control = null;
    }

    /** {@code put_cmsg_notrunc} of one {@code struct dmabuf_cmsg}; false (ETOOSMALL) when it does not fit whole. */
    boolean putCmsg(int type, long fragOffset, int fragSize, int token, int dmabufId) {
        if (control == null || controlLen - controlUsed < CMSG_SPACE) {
            return false;
        }
        MemorySegment c = control;
        long o = controlUsed;
        c.set(U64, o + Structs.CMSG_LEN, CMSG_SPACE);
        c.set(U32, o + Structs.CMSG_LEVEL, SOL_SOCKET);
        c.set(U32, o + Structs.CMSG_TYPE, type);
        long d = o + Structs.CMSGHDR.byteSize();
        c.set(U64, d + Structs.DMABUF_CMSG_FRAG_OFFSET, fragOffset);
        c.set(U32, d + Structs.DMABUF_CMSG_FRAG_SIZE, fragSize);
        c.set(U32, d + Structs.DMABUF_CMSG_FRAG_TOKEN, token);
        c.set(U32, d + Structs.DMABUF_CMSG_DMABUF_ID, dmabufId);
        c.set(U32, d + Structs.DMABUF_CMSG_FLAGS, 0);
        controlUsed = o + CMSG_SPACE;
        return true;
    }

    /** {@code copy_to_iter}: copies up to {@code n} bytes into the iov at its cursor; returns how many. */
    int copyToIov(MemorySegment src, long srcOffset, int n) {
        int done = 0;
        while (done < n && iovIdx < iovCount) {
            long room = iovLen[iovIdx] - iovOff;
            if (room == 0) {
                iovIdx++;
                iovOff = 0;
                continue;
            }
            if (iovBase[iovIdx] == 0) {
                break; // a fault in the kernel
            }
            int chunk = (int) Math.min(room, n - done);
            MemorySegment dst = MemorySegment.ofAddress(iovBase[iovIdx] + iovOff).reinterpret(chunk);
            MemorySegment.copy(src, srcOffset + done, dst, 0, chunk);
            done += chunk;
            iovOff += chunk;
        }
        return done;
    }

    /**
     * The caller's control buffer {@code [ptr, ptr + len)}; the previous call's segment when it is the
     * same buffer (writes stay within {@code controlLen} of this call: {@link #putCmsg} checks it).
     */
    private MemorySegment controlSegment(long ptr, long len) {
        MemorySegment c = lastControl;
        if (c.address() == ptr && len >= 0 && len <= c.byteSize()) {
            return c;
        }
        c = MemorySegment.ofAddress(ptr).reinterpret(len);
        lastControl = c;
        return c;
    }

    /** Reads the caller's iovec array; returns the total length, or -1 when it overflows. */
    private long loadIov(long iovPtr, int count) {
        if (iovBase.length < count) {
            iovBase = new long[Math.max(count, iovBase.length * 2)];
            iovLen = new long[iovBase.length];
        }
        long total = 0;
        if (count > 0) {
            MemorySegment iov = lastIovArray;
            long bytes = count * Structs.IOVEC.byteSize();
            if (iov.address() != iovPtr || iov.byteSize() < bytes) {
                iov = MemorySegment.ofAddress(iovPtr).reinterpret(bytes);
                lastIovArray = iov;
            }
            for (int i = 0; i < count; i++) {
                long o = i * Structs.IOVEC.byteSize();
                iovBase[i] = iov.get(ValueLayout.JAVA_LONG, o + Structs.IOVEC_BASE);
                iovLen[i] = iov.get(ValueLayout.JAVA_LONG, o + Structs.IOVEC_LEN);
                if (iovLen[i] < 0) {
                    return -1;
                }
                total += iovLen[i];
                if (total < 0) {
                    return -1;
                }
            }
        }
        iovCount = count;
        iovIdx = 0;
        iovOff = 0;
        return Math.min(total, 0x7FFF_F000L); // MAX_RW_COUNT
    }
}
