package dev.devmem.ffm.rx;

import dev.devmem.api.DevmemProtocolException;
import dev.devmem.ffm.sys.LinuxConstants;
import dev.devmem.ffm.sys.Structs;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A reusable cursor over the control messages of one {@code recvmsg}: the walk that
 * {@code CMSG_FIRSTHDR}/{@code CMSG_NXTHDR} do in C, with the checks C leaves to the caller.
 *
 * <p>Why a cursor and not a list: a devmem recvmsg can carry thousands of cmsgs, and the receive
 * path must not allocate per fragment. Why so strict: a mis-parsed {@code dmabuf_cmsg} yields a
 * wrong token, and returning a wrong token frees somebody else's fragment. So a malformed buffer is
 * a {@link DevmemProtocolException}, never a best guess, and nothing outside
 * {@code [0, msg_controllen)} is ever read.
 *
 * <p>Rules (LP64, kernel {@code __cmsg_nxthdr}): a header is 16 bytes; {@code cmsg_len} counts header
 * plus data but not the padding to the next 8-byte boundary; the next header starts at
 * {@code CMSG_ALIGN(cmsg_len)}; the last cmsg may end without its padding. A devmem cmsg
 * ({@code SOL_SOCKET} / {@code SCM_DEVMEM_LINEAR} or {@code SCM_DEVMEM_DMABUF}) is exactly
 * {@code CMSG_LEN(sizeof(struct dmabuf_cmsg)) = 40} bytes; cmsgs of other levels and types are
 * walked over, not interpreted.
 *
 * <pre>{@code
 * walker.reset(control, msgControllen);
 * while (walker.next()) {
 *     if (walker.isDmabuf()) { ... walker.fragToken() ... }
 * }
 * }</pre>
 */
public final class CmsgWalker {
    private static final long HEADER = Structs.CMSGHDR.byteSize();
    private static final long DEVMEM_LEN = Structs.cmsgLen(Structs.DMABUF_CMSG.byteSize());
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED;
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED;

    private MemorySegment control = MemorySegment.NULL;
    private long end;
    /** Offset of the current cmsg, or -1 before the first {@link #next()}. */
    private long pos;
    /** Offset where the next header would start. */
    private long nextPos;
    private long len;
    private int level;
    private int type;

    /**
     * Starts a walk over {@code control[0, controllen)}, where {@code controllen} is the
     * {@code msg_controllen} the kernel returned (bytes it wrote, not the capacity).
     *
     * @throws DevmemProtocolException when {@code controllen} is negative or exceeds the buffer
     */
    public CmsgWalker reset(MemorySegment control, long controllen) throws DevmemProtocolException {
        if (controllen < 0 || controllen > control.byteSize()) {
            throw new DevmemProtocolException("msg_controllen " + Long.toUnsignedString(controllen)
                    + " is outside the control buffer of " + control.byteSize() + " bytes");
        }
        this.control = control;
        this.end = controllen;
        this.pos = -1;
        this.nextPos = 0;
        this.len = 0;
        this.level = 0;
        this.type = 0;
        return this;
    }

    /**
     * Moves to the next control message. Returns {@code false} at the end of the buffer.
     *
     * @throws DevmemProtocolException when the next header is truncated, its {@code cmsg_len} is below
     *                                 the header size or runs past {@code msg_controllen}, or a devmem
     *                                 cmsg is not exactly 40 bytes
     */
    public boolean next() throws DevmemProtocolException {
        long at = nextPos;
        if (at >= end) {
            pos = end;
            return false;
        }
        if (end - at < HEADER) {
            throw new DevmemProtocolException("truncated cmsghdr at control offset " + at + ": only "
                    + (end - at) + " of " + HEADER + " header bytes before msg_controllen " + end);
        }
        long l = control.get(U64, at + Structs.CMSG_LEN);
        if (l < HEADER) {
            // Also catches lengths >= 2^63 (negative as a Java long).
            throw new DevmemProtocolException("cmsg at control offset " + at + " has cmsg_len "
                    + Long.toUnsignedString(l) + ", below the " + HEADER + "-byte header");
        }
        if (l > end - at) {
            throw new DevmemProtocolException("cmsg at control offset " + at + " has cmsg_len " + l
                    + ", running past msg_controllen " + end);
        }
        int lv = control.get(U32, at + Structs.CMSG_LEVEL);
        int ty = control.get(U32, at + Structs.CMSG_TYPE);
        if (lv == LinuxConstants.SOL_SOCKET
                && (ty == LinuxConstants.SCM_DEVMEM_DMABUF || ty == LinuxConstants.SCM_DEVMEM_LINEAR)
                && l != DEVMEM_LEN) {
            throw new DevmemProtocolException("devmem cmsg " + typeName(ty) + " at control offset " + at
                    + " has cmsg_len " + l + ", expected CMSG_LEN(sizeof(struct dmabuf_cmsg)) = " + DEVMEM_LEN);
        }
        pos = at;
        len = l;
        level = lv;
        type = ty;
        nextPos = at + Structs.cmsgAlign(l);
        return true;
    }

    /** {@code cmsg_level} of the current message. */
    public int level() {
        return level;
    }

    /** {@code cmsg_type} of the current message. */
    public int type() {
        return type;
    }

    /** {@code cmsg_len} of the current message: header plus data, without trailing padding. */
    public long length() {
        return len;
    }

    /** Offset of the current message's header in the control buffer. */
    public long position() {
        return pos;
    }

    /** Offset of the current message's data ({@code CMSG_DATA}) in the control buffer. */
    public long dataOffset() {
        return pos + HEADER;
    }

    /** The current message is {@code SOL_SOCKET / SCM_DEVMEM_DMABUF}: payload in device memory. */
    public boolean isDmabuf() {
        return level == LinuxConstants.SOL_SOCKET && type == LinuxConstants.SCM_DEVMEM_DMABUF;
    }

    /** The current message is {@code SOL_SOCKET / SCM_DEVMEM_LINEAR}: bytes copied into the iov. */
    public boolean isLinear() {
        return level == LinuxConstants.SOL_SOCKET && type == LinuxConstants.SCM_DEVMEM_LINEAR;
    }

    /** {@code dmabuf_cmsg.frag_offset} of the current devmem message. */
    public long fragOffset() {
        return control.get(U64, dataOffset() + Structs.DMABUF_CMSG_FRAG_OFFSET);
    }

    /** {@code dmabuf_cmsg.frag_size}, unsigned. */
    public long fragSize() {
        return Integer.toUnsignedLong(control.get(U32, dataOffset() + Structs.DMABUF_CMSG_FRAG_SIZE));
    }

    /** {@code dmabuf_cmsg.frag_token} (meaningful for DMABUF only). */
    public int fragToken() {
        return control.get(U32, dataOffset() + Structs.DMABUF_CMSG_FRAG_TOKEN);
    }

    /** {@code dmabuf_cmsg.dmabuf_id} (meaningful for DMABUF only). */
    public int dmabufId() {
        return control.get(U32, dataOffset() + Structs.DMABUF_CMSG_DMABUF_ID);
    }

    /** {@code dmabuf_cmsg.flags}, reserved and 0 as of Linux 6.19. */
    public int flags() {
        return control.get(U32, dataOffset() + Structs.DMABUF_CMSG_FLAGS);
    }

    static String typeName(int type) {
        return switch (type) {
            case LinuxConstants.SCM_DEVMEM_DMABUF -> "SCM_DEVMEM_DMABUF";
            case LinuxConstants.SCM_DEVMEM_LINEAR -> "SCM_DEVMEM_LINEAR";
            default -> "type " + type;
        };
    }
}
