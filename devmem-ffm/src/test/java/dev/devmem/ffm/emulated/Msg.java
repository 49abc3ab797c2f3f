package dev.devmem.ffm.emulated;

import dev.devmem.ffm.rx.SocketEndpoint;
import dev.devmem.ffm.sys.Structs;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/** A {@code struct msghdr} with one iov and a control buffer in native memory, and a cmsg walker for tests. */
final class Msg implements AutoCloseable {
    record Cmsg(long len, int level, int type, long fragOffset, int fragSize, int token, int dmabufId, int flags) {
    }

    final Arena arena = Arena.ofShared(); // a blocking receive may run on another thread
    final MemorySegment hdr = arena.allocate(Structs.MSGHDR);
    final MemorySegment iov = arena.allocate(Structs.IOVEC);
    final MemorySegment data;
    final MemorySegment control;
    private final long controlCapacity;

    Msg(long iovLen, long controlLen) {
        data = arena.allocate(Math.max(1, iovLen), 8);
        control = arena.allocate(Math.max(1, controlLen), 8);
        controlCapacity = controlLen;
        reset(iovLen, controlLen);
    }

    /** Re-arms the header: iov of {@code iovLen} bytes, control of {@code controlLen} (0 = NULL control). */
    Msg reset(long iovLen, long controlLen) {
        hdr.fill((byte) 0);
        iov.set(ValueLayout.ADDRESS, Structs.IOVEC_BASE, data);
        iov.set(ValueLayout.JAVA_LONG, Structs.IOVEC_LEN, iovLen);
        hdr.set(ValueLayout.ADDRESS, Structs.MSGHDR_IOV, iov);
        hdr.set(ValueLayout.JAVA_LONG, Structs.MSGHDR_IOVLEN, 1);
        if (controlLen > 0) {
            if (controlLen > controlCapacity) {
                throw new IllegalArgumentException("control " + controlLen + " > " + controlCapacity);
            }
            hdr.set(ValueLayout.ADDRESS, Structs.MSGHDR_CONTROL, control);
            hdr.set(ValueLayout.JAVA_LONG, Structs.MSGHDR_CONTROLLEN, controlLen);
        }
        return this;
    }

    long recv(SocketEndpoint e, int flags) {
        return e.recvmsg(hdr, flags);
    }

    long controlLen() {
        return hdr.get(ValueLayout.JAVA_LONG, Structs.MSGHDR_CONTROLLEN);
    }

    int flags() {
        return hdr.get(ValueLayout.JAVA_INT, Structs.MSGHDR_FLAGS);
    }

    /** The control bytes the call produced. */
    byte[] controlBytes() {
        return control.asSlice(0, controlLen()).toArray(ValueLayout.JAVA_BYTE);
    }

    /** Walks the control buffer like CMSG_FIRSTHDR/CMSG_NXTHDR. */
    List<Cmsg> cmsgs() {
        List<Cmsg> out = new ArrayList<>();
        long used = controlLen();
        long o = 0;
        while (o + Structs.CMSGHDR.byteSize() <= used) {
            long len = control.get(ValueLayout.JAVA_LONG, o + Structs.CMSG_LEN);
            int level = control.get(ValueLayout.JAVA_INT, o + Structs.CMSG_LEVEL);
            int type = control.get(ValueLayout.JAVA_INT, o + Structs.CMSG_TYPE);
            long d = o + Structs.CMSGHDR.byteSize();
            if (len >= Structs.CMSGHDR.byteSize() + Structs.DMABUF_CMSG.byteSize()) {
                out.add(new Cmsg(len, level, type,
                        control.get(ValueLayout.JAVA_LONG, d + Structs.DMABUF_CMSG_FRAG_OFFSET),
                        control.get(ValueLayout.JAVA_INT, d + Structs.DMABUF_CMSG_FRAG_SIZE),
                        control.get(ValueLayout.JAVA_INT, d + Structs.DMABUF_CMSG_FRAG_TOKEN),
                        control.get(ValueLayout.JAVA_INT, d + Structs.DMABUF_CMSG_DMABUF_ID),
                        control.get(ValueLayout.JAVA_INT, d + Structs.DMABUF_CMSG_FLAGS)));
            } else {
                out.add(new Cmsg(len, level, type, 0, 0, 0, 0, 0));
            }
            o += Structs.cmsgAlign(len);
        }
        return out;
    }

    /** SO_DEVMEM_DONTNEED of {@code ranges} = {start, count} pairs on {@code e}. */
    static int dontneed(SocketEndpoint e, int... ranges) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(Math.max(8, ranges.length * 4L), 8);
            for (int i = 0; i < ranges.length; i++) {
                v.set(ValueLayout.JAVA_INT, i * 4L, ranges[i]);
            }
            return e.setsockopt(1, 80, v, ranges.length * 4);
        }
    }

    @Override
    public void close() {
        arena.close();
    }
}
