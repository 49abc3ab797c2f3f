package dev.devmem.ffm.testing;

import dev.devmem.ffm.rx.SocketEndpoint;
import dev.devmem.ffm.sys.LinuxConstants;
import dev.devmem.ffm.sys.Structs;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A {@code struct msghdr} for {@code sendmsg} built by hand, byte for byte, so that tests can send
 * what the engine never would (a u64 id, a short {@code cmsg_len}, 1025 iovs) and compare the real
 * kernel's answer with the emulated NIC's. Native memory from a confined arena the caller closes.
 */
public final class TxMsg {
    private final Arena arena;
    private final MemorySegment msghdr;
    private MemorySegment iovs;
    private int iovCount;
    private MemorySegment control;
    private long controlLen;

    public TxMsg(Arena arena) {
        this.arena = arena;
        this.msghdr = arena.allocate(Structs.MSGHDR);
    }

    /** Room for {@code n} iovs, each {@code (base, len)} set with {@link #iov}. */
    public TxMsg iovs(int n) {
        iovs = arena.allocate(Math.max(1, n) * Structs.IOVEC.byteSize(), 8);
        iovCount = n;
        return this;
    }

    public TxMsg iov(int i, long base, long len) {
        long o = i * Structs.IOVEC.byteSize();
        iovs.set(ValueLayout.JAVA_LONG, o + Structs.IOVEC_BASE, base);
        iovs.set(ValueLayout.JAVA_LONG, o + Structs.IOVEC_LEN, len);
        return this;
    }

    /** One iov. */
    public TxMsg single(long base, long len) {
        return iovs(1).iov(0, base, len);
    }

    /** A control buffer of {@code bytes}, filled by {@code builder}; {@code msg_controllen} = {@code controlLen}. */
    public CmsgBuilder control(int bytes, long controllen) {
        control = arena.allocate(bytes, 8);
        controlLen = controllen;
        return new CmsgBuilder(control);
    }

    /** The devmem TX cmsg as the kernel wants it: SOL_SOCKET / SCM_DEVMEM_DMABUF, CMSG_LEN(4), the u32 id. */
    public TxMsg devmemId(int id) {
        control(24, 24).other(LinuxConstants.SOL_SOCKET, LinuxConstants.SCM_DEVMEM_DMABUF, u32(id));
        return this;
    }

    public static byte[] u32(int v) {
        return new byte[]{(byte) v, (byte) (v >>> 8), (byte) (v >>> 16), (byte) (v >>> 24)};
    }

    public static byte[] u64(long v) {
        byte[] b = new byte[8];
        for (int i = 0; i < 8; i++) {
            b[i] = (byte) (v >>> (8 * i));
        }
        return b;
    }

    public MemorySegment msghdr() {
        msghdr.set(ValueLayout.ADDRESS, Structs.MSGHDR_NAME, MemorySegment.NULL);
        msghdr.set(ValueLayout.JAVA_INT, Structs.MSGHDR_NAMELEN, 0);
        msghdr.set(ValueLayout.ADDRESS, Structs.MSGHDR_IOV, iovs == null ? MemorySegment.NULL : iovs);
        msghdr.set(ValueLayout.JAVA_LONG, Structs.MSGHDR_IOVLEN, iovCount);
        msghdr.set(ValueLayout.ADDRESS, Structs.MSGHDR_CONTROL, control == null ? MemorySegment.NULL : control);
        msghdr.set(ValueLayout.JAVA_LONG, Structs.MSGHDR_CONTROLLEN, control == null ? 0 : controlLen);
        msghdr.set(ValueLayout.JAVA_INT, Structs.MSGHDR_FLAGS, 0);
        return msghdr;
    }

    /** {@code endpoint.sendmsg(msghdr, flags)}: the bytes taken or {@code -errno}. */
    public long send(SocketEndpoint endpoint, int flags) {
        return endpoint.sendmsg(msghdr(), flags);
    }
}
