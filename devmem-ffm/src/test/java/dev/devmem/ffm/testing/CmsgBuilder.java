package dev.devmem.ffm.testing;

import dev.devmem.ffm.sys.LinuxConstants;
import dev.devmem.ffm.sys.Structs;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Writes control messages the way the kernel's {@code put_cmsg} lays them out on LP64, for golden
 * tests and scripted endpoints: a 16-byte {@code cmsghdr} ({@code cmsg_len} u64, level, type),
 * the data, then padding to 8 bytes before the next header. {@link #controllen()} is what the kernel
 * would report in {@code msg_controllen}: the bytes consumed, i.e. {@code CMSG_SPACE} per message.
 */
public final class CmsgBuilder {
    private final MemorySegment control;
    private long pos;
    private long lastEnd;

    public CmsgBuilder(MemorySegment control) {
        this.control = control;
    }

    /** {@code SOL_SOCKET / SCM_DEVMEM_DMABUF} with a full {@code struct dmabuf_cmsg}. */
    public CmsgBuilder dmabuf(long fragOffset, int fragSize, int token, int dmabufId) {
        long d = header(Structs.cmsgLen(Structs.DMABUF_CMSG.byteSize()), LinuxConstants.SOL_SOCKET,
                LinuxConstants.SCM_DEVMEM_DMABUF);
        control.set(ValueLayout.JAVA_LONG_UNALIGNED, d + Structs.DMABUF_CMSG_FRAG_OFFSET, fragOffset);
        control.set(ValueLayout.JAVA_INT_UNALIGNED, d + Structs.DMABUF_CMSG_FRAG_SIZE, fragSize);
        control.set(ValueLayout.JAVA_INT_UNALIGNED, d + Structs.DMABUF_CMSG_FRAG_TOKEN, token);
        control.set(ValueLayout.JAVA_INT_UNALIGNED, d + Structs.DMABUF_CMSG_DMABUF_ID, dmabufId);
        control.set(ValueLayout.JAVA_INT_UNALIGNED, d + Structs.DMABUF_CMSG_FLAGS, 0);
        return this;
    }

    /** {@code SOL_SOCKET / SCM_DEVMEM_LINEAR}: a dmabuf_cmsg with only frag_size set, as the kernel sends it. */
    public CmsgBuilder linear(int fragSize) {
        long d = header(Structs.cmsgLen(Structs.DMABUF_CMSG.byteSize()), LinuxConstants.SOL_SOCKET,
                LinuxConstants.SCM_DEVMEM_LINEAR);
        control.asSlice(d, Structs.DMABUF_CMSG.byteSize()).fill((byte) 0);
        control.set(ValueLayout.JAVA_INT_UNALIGNED, d + Structs.DMABUF_CMSG_FRAG_SIZE, fragSize);
        return this;
    }

    /** Any message with these data bytes, e.g. an {@code SCM_TIMESTAMP} or a {@code TCP_CM_INQ}. */
    public CmsgBuilder other(int level, int type, byte[] data) {
        long d = header(Structs.cmsgLen(data.length), level, type);
        MemorySegment.copy(data, 0, control, ValueLayout.JAVA_BYTE, d, data.length);
        return this;
    }

    /**
     * A header with an arbitrary {@code cmsg_len} (for malformed buffers). Advances by
     * {@code CMSG_ALIGN(max(len, 16))}; returns the data offset.
     */
    public long header(long cmsgLen, int level, int type) {
        control.set(ValueLayout.JAVA_LONG_UNALIGNED, pos + Structs.CMSG_LEN, cmsgLen);
        control.set(ValueLayout.JAVA_INT_UNALIGNED, pos + Structs.CMSG_LEVEL, level);
        control.set(ValueLayout.JAVA_INT_UNALIGNED, pos + Structs.CMSG_TYPE, type);
        long data = pos + Structs.CMSGHDR.byteSize();
        long span = Math.max(cmsgLen, Structs.CMSGHDR.byteSize());
        lastEnd = pos + Math.min(span, Math.max(0, control.byteSize() - pos));
        pos = Math.min(pos + Structs.cmsgAlign(span), control.byteSize());
        return data;
    }

    /** Bytes consumed so far, as the kernel reports them: every message with its padding. */
    public long controllen() {
        return pos;
    }

    /** Bytes up to the end of the last message's data, without its trailing padding. */
    public long controllenWithoutLastPadding() {
        return lastEnd;
    }
}
