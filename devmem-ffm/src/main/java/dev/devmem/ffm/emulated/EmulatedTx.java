package dev.devmem.ffm.emulated;

import dev.devmem.api.Errno;
import dev.devmem.ffm.sys.Structs;
import dev.devmem.ffm.sys.Syscalls;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static dev.devmem.ffm.sys.LinuxConstants.*;

/**
 * The TX half of one emulated socket: {@code sendmsg} with an {@code SCM_DEVMEM_DMABUF} cmsg
 * answered as {@code tcp_sendmsg_locked} answers it on Linux 6.18, and the zerocopy completions of
 * the error queue reported as the kernel reports them for device memory.
 *
 * <p><b>How the bytes go out.</b> A devmem send whose checks pass becomes a real
 * {@code sendmsg(MSG_ZEROCOPY)} on the real kernel socket, with the dmabuf offsets turned into
 * addresses of the memfd mapping. So the real kernel spends the send number (one per sendmsg that
 * took bytes, none for a failure), takes a short count when the socket buffer fills, pins the memfd
 * pages until the data is acknowledged, merges completions into ranges, queues them on the error
 * queue and raises {@code POLLERR}: numbering, merging and memory lifetime are the kernel's own, not
 * a model of them. What differs is one bit: over loopback the kernel copies and reports
 * {@code SO_EE_CODE_ZEROCOPY_COPIED}, while device memory is never copied, so notices whose first
 * send was a devmem send get {@code ee_code} 0 on their way to the caller (the kernel also takes a
 * merged notice's code from its first range).
 *
 * <p><b>Checks, in the kernel's order.</b> {@code import_iovec}: more than 1024 iovs EMSGSIZE, a
 * negative length EINVAL, a range above the user address limit EFAULT, the total capped at
 * {@code MAX_RW_COUNT}. {@code sock_cmsg_send}: a cmsg whose {@code cmsg_len} is below the header
 * or runs past {@code msg_controllen} EINVAL, an {@code SCM_DEVMEM_DMABUF} whose length is not
 * {@code CMSG_LEN(4)} EINVAL (such messages go to the real kernel unchanged, which answers the same;
 * other SOL_SOCKET cmsgs beside the id are checked by the real kernel with a zero-length send first).
 * Then, for id != 0: with {@code MSG_ZEROCOPY}, {@code SO_ZEROCOPY} and bytes to send, the binding
 * lookup (an unknown, closed or rx binding EINVAL; another NIC's binding ENODEV, the kernel's "route
 * device differs"); without {@code MSG_ZEROCOPY} or {@code SO_ZEROCOPY} EINVAL. Then
 * {@code zerocopy_fill_skb_from_devmem}: an iov offset at or beyond the dmabuf ends the send there,
 * EFAULT when nothing was taken, else a short count. id 0 (or no cmsg) is an ordinary send and goes
 * to the real socket unchanged.
 *
 * <p>Used by the endpoint's one thread.
 */
final class EmulatedTx {
    private static final int UIO_MAXIOV = 1024;
    private static final long MAX_RW_COUNT = 0x7FFF_F000L;
    /** x86_64 {@code TASK_SIZE_MAX} with 4-level paging: the user address limit access_ok checks. */
    private static final long USER_PTR_MAX = 0x7FFF_FFFF_F000L;
    private static final long CMSGHDR = Structs.CMSGHDR.byteSize();
    private static final long ID_CMSG_LEN = Structs.cmsgLen(4);
    private static final int MAX_RUNS = 256;
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED;

    private final EmulatedNic nic;
    private final int fd;
    private final Arena arena = Arena.ofAuto();
    private final MemorySegment realMsg = arena.allocate(Structs.MSGHDR);
    private final MemorySegment probeMsg = arena.allocate(Structs.MSGHDR);
    private final MemorySegment intValue = arena.allocate(ValueLayout.JAVA_INT);
    private final MemorySegment intLen = arena.allocate(ValueLayout.JAVA_INT);
    private MemorySegment realIov = arena.allocate(Structs.IOVEC.byteSize() * 8, 8);
    private MemorySegment controlCopy = arena.allocate(64, 8);
    private long[] iovBase = new long[8];
    private long[] iovLen = new long[8];

    private boolean sockZerocopy;
    /** The real socket's next zerocopy send number, as an unwrapped count. */
    private long zcNext;
    /** Runs of consecutive send numbers by kind: {start, 1 = devmem / 0 = host}, oldest first. */
    private final long[][] runs = new long[MAX_RUNS][];
    private int runHead;
    private int runCount;

    // scan results of the last control buffer
    private int scanId;
    private boolean scanOthers;
    private boolean scanMalformed;

    volatile long devmemSends;
    volatile long devmemBytes;
    volatile long zerocopySends;
    volatile long noticesRewritten;

    EmulatedTx(EmulatedNic nic, int fd) {
        this.nic = nic;
        this.fd = fd;
    }

    // -------------------------------------------------------------------------------------- send

    long sendmsg(MemorySegment msghdr, int flags) {
        MemorySegment msg = msghdr.byteSize() >= Structs.MSGHDR.byteSize()
                ? msghdr : msghdr.reinterpret(Structs.MSGHDR.byteSize());
        long ctrlPtr = msg.get(ValueLayout.JAVA_LONG, Structs.MSGHDR_CONTROL);
        long ctrlLen = msg.get(ValueLayout.JAVA_LONG, Structs.MSGHDR_CONTROLLEN);
        MemorySegment control = null;
        if (ctrlPtr != 0 && ctrlLen > 0 && ctrlLen <= Integer.MAX_VALUE) {
            control = MemorySegment.ofAddress(ctrlPtr).reinterpret(ctrlLen);
            scan(control, ctrlLen);
        } else {
            scanId = 0;
            scanMalformed = false;
        }
        if (control == null || scanMalformed || scanId == 0) {
            return forward(msghdr, flags);
        }

        // import_iovec, before the protocol sees anything
        long iovPtr = msg.get(ValueLayout.JAVA_LONG, Structs.MSGHDR_IOV);
        long nrSegs = msg.get(ValueLayout.JAVA_LONG, Structs.MSGHDR_IOVLEN);
        if (Long.compareUnsigned(nrSegs, UIO_MAXIOV) > 0) {
            return -Errno.EMSGSIZE.number();
        }
        int segs = (int) nrSegs;
        if (segs > 0 && iovPtr == 0) {
            return -Errno.EFAULT.number();
        }
        long size = importIov(iovPtr, segs);
        if (size < 0) {
            return size;
        }

        // tcp_sendmsg_locked: a bad cmsg elsewhere in the buffer wins over the binding lookup
        if (scanOthers) {
            copyControlWithoutId(control, ctrlLen);
            long r = probe(controlCopy, ctrlLen, flags);
            if (r < 0) {
                return r;
            }
        }
        boolean zerocopy = (flags & MSG_ZEROCOPY) != 0 && sockZerocopy;
        EmulatedTxBinding binding = null;
        if (zerocopy && size > 0) {
            binding = EmulatedTxBinding.acquire(scanId);
            if (binding == null) {
                return -Errno.EINVAL.number(); // no such id, closed, or an rx binding (no tx_vec)
            }
            if (binding.nic() != nic) {
                binding.release();
                return -Errno.ENODEV.number(); // the route leaves through another device
            }
        }
        if (!zerocopy) {
            return -Errno.EINVAL.number();
        }
        try {
            if (size == 0) {
                return probe(scanOthers ? controlCopy : null, scanOthers ? ctrlLen : 0, flags);
            }
            int n = translate(binding, segs, size);
            long valid = translatedBytes;
            if (valid == 0) {
                long r = probe(null, 0, flags);
                return r < 0 ? r : -Errno.EFAULT.number();
            }
            realMsg.set(ValueLayout.JAVA_LONG, Structs.MSGHDR_NAME, msg.get(ValueLayout.JAVA_LONG, Structs.MSGHDR_NAME));
            realMsg.set(ValueLayout.JAVA_INT, Structs.MSGHDR_NAMELEN, msg.get(ValueLayout.JAVA_INT, Structs.MSGHDR_NAMELEN));
            realMsg.set(ValueLayout.ADDRESS, Structs.MSGHDR_IOV, realIov);
            realMsg.set(ValueLayout.JAVA_LONG, Structs.MSGHDR_IOVLEN, n);
            realMsg.set(ValueLayout.ADDRESS, Structs.MSGHDR_CONTROL, scanOthers ? controlCopy : MemorySegment.NULL);
            realMsg.set(ValueLayout.JAVA_LONG, Structs.MSGHDR_CONTROLLEN, scanOthers ? ctrlLen : 0);
            realMsg.set(ValueLayout.JAVA_INT, Structs.MSGHDR_FLAGS, 0);
            long r = Syscalls.sendmsg(fd, realMsg, flags);
            if (r > 0) {
                spend(true);
                devmemSends++;
                devmemBytes += r;
                binding.sends.increment();
                binding.bytes.add(r);
            }
            return r;
        } finally {
            if (binding != null) {
                binding.release();
            }
        }
    }

    /** An ordinary send, unchanged; spends a number when it is a zerocopy send that took bytes. */
    private long forward(MemorySegment msghdr, int flags) {
        long r = Syscalls.sendmsg(fd, msghdr, flags);
        if (r > 0 && (flags & MSG_ZEROCOPY) != 0 && sockZerocopy) {
            spend(false);
        }
        return r;
    }

    /**
     * A zero-length send with {@code control} (id zeroed), without MSG_ZEROCOPY, so that the real
     * kernel judges the other cmsgs and the socket state (EPIPE, ENOTCONN) without spending a number.
     */
    private long probe(MemorySegment control, long controlLen, int flags) {
        probeMsg.set(ValueLayout.JAVA_LONG, Structs.MSGHDR_NAME, 0);
        probeMsg.set(ValueLayout.JAVA_INT, Structs.MSGHDR_NAMELEN, 0);
        probeMsg.set(ValueLayout.JAVA_LONG, Structs.MSGHDR_IOV, 0);
        probeMsg.set(ValueLayout.JAVA_LONG, Structs.MSGHDR_IOVLEN, 0);
        probeMsg.set(ValueLayout.ADDRESS, Structs.MSGHDR_CONTROL, control == null ? MemorySegment.NULL : control);
        probeMsg.set(ValueLayout.JAVA_LONG, Structs.MSGHDR_CONTROLLEN, control == null ? 0 : controlLen);
        probeMsg.set(ValueLayout.JAVA_INT, Structs.MSGHDR_FLAGS, 0);
        return Syscalls.sendmsg(fd, probeMsg, (flags & ~MSG_ZEROCOPY) | MSG_DONTWAIT);
    }

    /**
     * Walks the control buffer as {@code for_each_cmsghdr} and {@code CMSG_OK} do; finds the last
     * {@code SCM_DEVMEM_DMABUF} (each one overwrites {@code sockc->dmabuf_id}) and whether any other
     * cmsg is present.
     */
    private void scan(MemorySegment control, long len) {
        scanId = 0;
        scanOthers = false;
        scanMalformed = false;
        long pos = 0;
        while (len - pos >= CMSGHDR) {
            long clen = control.get(U64, pos + Structs.CMSG_LEN);
            if (clen < CMSGHDR || clen > len - pos) {
                scanMalformed = true; // !CMSG_OK
                return;
            }
            int level = control.get(U32, pos + Structs.CMSG_LEVEL);
            int type = control.get(U32, pos + Structs.CMSG_TYPE);
            if (level == SOL_SOCKET && type == SCM_DEVMEM_DMABUF) {
                if (clen != ID_CMSG_LEN) {
                    scanMalformed = true;
                    return;
                }
                scanId = control.get(U32, pos + CMSGHDR);
            } else {
                scanOthers = true;
            }
            pos += Structs.cmsgAlign(clen);
        }
    }

    private void copyControlWithoutId(MemorySegment control, long len) {
        if (controlCopy.byteSize() < len) {
            controlCopy = arena.allocate(Math.max(len, controlCopy.byteSize() * 2), 8);
        }
        MemorySegment.copy(control, 0, controlCopy, 0, len);
        // every id cmsg to 0: the kernel then sends ordinary memory, which is what we hand it
        long pos = 0;
        while (len - pos >= CMSGHDR) {
            long clen = controlCopy.get(U64, pos + Structs.CMSG_LEN);
            if (controlCopy.get(U32, pos + Structs.CMSG_LEVEL) == SOL_SOCKET
                    && controlCopy.get(U32, pos + Structs.CMSG_TYPE) == SCM_DEVMEM_DMABUF) {
                controlCopy.set(U32, pos + CMSGHDR, 0);
            }
            pos += Structs.cmsgAlign(clen);
        }
    }

    /** {@code import_iovec}: returns the total (capped at MAX_RW_COUNT) or a negative errno. */
    private long importIov(long iovPtr, int segs) {
        if (iovBase.length < segs) {
            iovBase = new long[segs];
            iovLen = new long[segs];
        }
        MemorySegment iov = segs == 0 ? MemorySegment.NULL
                : MemorySegment.ofAddress(iovPtr).reinterpret(segs * Structs.IOVEC.byteSize());
        for (int i = 0; i < segs; i++) {
            long o = i * Structs.IOVEC.byteSize();
            iovBase[i] = iov.get(ValueLayout.JAVA_LONG, o + Structs.IOVEC_BASE);
            iovLen[i] = iov.get(ValueLayout.JAVA_LONG, o + Structs.IOVEC_LEN);
            if (iovLen[i] < 0) {
                return -Errno.EINVAL.number();
            }
        }
        if (segs == 1 && iovLen[0] > MAX_RW_COUNT) {
            iovLen[0] = MAX_RW_COUNT; // import_ubuf caps a single iov before access_ok
        }
        long total = 0;
        for (int i = 0; i < segs; i++) {
            long base = iovBase[i];
            long len = iovLen[i];
            long end = base + len;
            if (Long.compareUnsigned(end, USER_PTR_MAX) > 0 || Long.compareUnsigned(end, base) < 0) {
                return -Errno.EFAULT.number(); // access_ok
            }
            if (len > MAX_RW_COUNT - total) {
                len = MAX_RW_COUNT - total;
                iovLen[i] = len;
            }
            total += len;
        }
        return total;
    }

    private long translatedBytes;

    /**
     * {@code zerocopy_fill_skb_from_devmem} over the whole send: each iov's offsets become addresses
     * of the mapping, up to the first byte at or beyond the dmabuf. Returns the real iov count;
     * {@link #translatedBytes} holds the bytes they cover.
     */
    private int translate(EmulatedTxBinding binding, int segs, long size) {
        long bufSize = binding.dmabufSize();
        long base0 = binding.address();
        if (realIov.byteSize() < segs * Structs.IOVEC.byteSize()) {
            realIov = arena.allocate(segs * Structs.IOVEC.byteSize(), 8);
        }
        int n = 0;
        long valid = 0;
        long left = size;
        for (int i = 0; i < segs && left > 0; i++) {
            long len = Math.min(iovLen[i], left);
            if (len == 0) {
                continue;
            }
            long off = iovBase[i];
            if (Long.compareUnsigned(off, bufSize) >= 0) {
                break; // net_devmem_get_niov_at: NULL, -EFAULT
            }
            long take = Math.min(len, bufSize - off);
            long o = n * Structs.IOVEC.byteSize();
            realIov.set(ValueLayout.JAVA_LONG, o + Structs.IOVEC_BASE, base0 + off);
            realIov.set(ValueLayout.JAVA_LONG, o + Structs.IOVEC_LEN, take);
            n++;
            valid += take;
            left -= len;
            if (take < len) {
                break;
            }
        }
        translatedBytes = valid;
        return n;
    }

    /** One send number spent on the real socket. */
    private void spend(boolean devmem) {
        zerocopySends++;
        int kind = devmem ? 1 : 0;
        if (runCount == 0 || runs[(runHead + runCount - 1) % MAX_RUNS][1] != kind) {
            if (runCount == MAX_RUNS) {
                runHead = (runHead + 1) % MAX_RUNS;
                runCount--;
            }
            runs[(runHead + runCount) % MAX_RUNS] = new long[]{zcNext, kind};
            runCount++;
        }
        zcNext++;
    }

    /** Whether the send numbered {@code number} (u32) was a devmem send. */
    private boolean isDevmem(int number) {
        long back = Integer.toUnsignedLong((int) zcNext - number);
        long abs = zcNext - back;
        for (int k = runCount - 1; k >= 0; k--) {
            long[] run = runs[(runHead + k) % MAX_RUNS];
            if (run[0] <= abs) {
                return run[1] == 1;
            }
        }
        return false;
    }

    // ------------------------------------------------------------------------- options, errqueue

    /** After a successful {@code setsockopt}: learns the real {@code SO_ZEROCOPY} state from the kernel. */
    void afterSetsockopt(int level, int name, int result) {
        if (result == 0 && level == SOL_SOCKET && name == SO_ZEROCOPY) {
            intLen.set(ValueLayout.JAVA_INT, 0, 4);
            if (Syscalls.getsockopt(fd, SOL_SOCKET, SO_ZEROCOPY, intValue, intLen) == 0) {
                sockZerocopy = intValue.get(ValueLayout.JAVA_INT, 0) != 0;
            }
        }
    }

    boolean zerocopyEnabled() {
        return sockZerocopy;
    }

    /**
     * After a successful {@code recvmsg(MSG_ERRQUEUE)} of the real socket: a zerocopy notice whose
     * first send was a devmem send reports {@code ee_code} 0, as device memory is never copied.
     */
    void afterErrqueue(MemorySegment msghdr) {
        MemorySegment msg = msghdr.byteSize() >= Structs.MSGHDR.byteSize()
                ? msghdr : msghdr.reinterpret(Structs.MSGHDR.byteSize());
        long ctrlPtr = msg.get(ValueLayout.JAVA_LONG, Structs.MSGHDR_CONTROL);
        long len = msg.get(ValueLayout.JAVA_LONG, Structs.MSGHDR_CONTROLLEN);
        if (ctrlPtr == 0 || len < CMSGHDR) {
            return;
        }
        MemorySegment c = MemorySegment.ofAddress(ctrlPtr).reinterpret(len);
        long pos = 0;
        while (len - pos >= CMSGHDR) {
            long clen = c.get(U64, pos + Structs.CMSG_LEN);
            if (clen < CMSGHDR || clen > len - pos) {
                return;
            }
            int level = c.get(U32, pos + Structs.CMSG_LEVEL);
            int type = c.get(U32, pos + Structs.CMSG_TYPE);
            long data = pos + CMSGHDR;
            boolean recverr = (level == SOL_IP && type == IP_RECVERR) || (level == SOL_IPV6 && type == IPV6_RECVERR);
            if (recverr && clen - CMSGHDR >= Structs.SOCK_EXTENDED_ERR.byteSize()
                    && (c.get(ValueLayout.JAVA_BYTE, data + Structs.EE_ORIGIN) & 0xFF) == SO_EE_ORIGIN_ZEROCOPY
                    && isDevmem(c.get(U32, data + Structs.EE_INFO))) {
                c.set(ValueLayout.JAVA_BYTE, data + Structs.EE_CODE, (byte) 0);
                noticesRewritten++;
            }
            pos += Structs.cmsgAlign(clen);
        }
    }
}
