package dev.devmem.ffm.emulated;

import dev.devmem.api.Errno;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetAddress;
import java.net.InetSocketAddress;

import static dev.devmem.ffm.sys.LinuxConstants.*;

/**
 * Packets with no socket: as many bytes as the buffers take, at once, for measuring a pipeline's own
 * ceiling ({@link SyntheticStream}). Bytes are the netcat pattern when the stream asks for it, else
 * whatever the buffers held. Socket calls answer as a socket that has nothing to say would.
 */
final class SyntheticSource implements PacketSource {
    private static final int PATTERN_SLAB = 64 << 10;
    private static final InetSocketAddress NOWHERE = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);

    private final SyntheticStream stream;
    private final int maxSkbSize;
    private final MemorySegment oneByte;
    private long position; // stream bytes produced
    private MemorySegment patternSlab; // the pattern from stream position 0, made on first use

    SyntheticSource(SyntheticStream stream, int maxSkbSize, Arena arena) {
        this.stream = stream;
        this.maxSkbSize = maxSkbSize;
        this.oneByte = arena.allocate(1);
    }

    SyntheticStream stream() {
        return stream;
    }

    @Override
    public int fd() {
        return -1;
    }

    @Override
    public boolean blocking() {
        return false;
    }

    @Override
    public boolean exhausted() {
        return stream.totalBytes() >= 0 && position >= stream.totalBytes();
    }

    @Override
    public long receive(EmulatedRxBinding b, int[] taken, int n, int fragSize, MemorySegment linear, long linearAt,
                        int linearCap, long capacity) {
        long got = stream.totalBytes() < 0 ? capacity : Math.min(capacity, stream.totalBytes() - position);
        if (got > 0 && stream.writePattern()) {
            long pos = position;
            long left = got;
            long inLinear = Math.min(linearCap, left);
            copyPattern(pos, linear, linearAt, inLinear);
            pos += inLinear;
            left -= inLinear;
            MemorySegment mem = b.memory();
            for (int f = 0; f < n && left > 0; f++) {
                long l = Math.min(fragSize, left);
                copyPattern(pos, mem, b.bufferOffset(taken[f]), l);
                pos += l;
                left -= l;
            }
        }
        if (got > 0) {
            position += got;
        }
        return got;
    }

    /** Writes the pattern for stream bytes [pos, pos + len) at {@code dst[at]}, in bulk copies. */
    private void copyPattern(long pos, MemorySegment dst, long at, long len) {
        if (patternSlab == null) {
            patternSlab = Arena.ofAuto().allocate(PATTERN_SLAB + 7);
            for (int i = 0; i < PATTERN_SLAB + 7; i++) {
                patternSlab.set(ValueLayout.JAVA_BYTE, i, SyntheticStream.patternByte(i));
            }
        }
        while (len > 0) {
            long chunk = Math.min(len, PATTERN_SLAB);
            MemorySegment.copy(patternSlab, pos % 7, dst, at, chunk);
            pos += chunk;
            at += chunk;
            len -= chunk;
        }
    }

    /** A synthetic flow on a queue without a dmabuf: ordinary bytes into the iov. */
    @Override
    public long receivePlain(MemorySegment msghdr, MemorySegment msg, int flags, long len, UserMsghdr user) {
        long n = len;
        if (stream.totalBytes() >= 0) {
            n = Math.min(n, stream.totalBytes() - position);
        }
        n = Math.min(n, maxSkbSize);
        if (n <= 0) {
            n = 0;
        } else if ((flags & MSG_TRUNC) == 0) {
            for (long i = 0; i < n; i++) {
                oneByte.set(ValueLayout.JAVA_BYTE, 0, stream.writePattern() ? SyntheticStream.patternByte(position + i) : 0);
                if (user.copyToIov(oneByte, 0, 1) != 1) {
                    if (i == 0) {
                        return -Errno.EFAULT.number();
                    }
                    n = i;
                    break;
                }
            }
        }
        if ((flags & MSG_PEEK) == 0) {
            position += n;
        }
        msg.set(ValueLayout.JAVA_LONG, dev.devmem.ffm.sys.Structs.MSGHDR_CONTROLLEN, 0L);
        msg.set(ValueLayout.JAVA_INT, dev.devmem.ffm.sys.Structs.MSGHDR_FLAGS, flags & MSG_CMSG_CLOEXEC);
        return n;
    }

    @Override
    public long receiveOther(MemorySegment msghdr, int flags) {
        return (flags & MSG_ERRQUEUE) != 0 ? -Errno.EAGAIN.number() : -Errno.EINVAL.number();
    }

    @Override
    public long sendmsg(MemorySegment msghdr, int flags) {
        return -Errno.EPIPE.number();
    }

    @Override
    public int setsockopt(int level, int name, MemorySegment value, int len) {
        return -Errno.ENOPROTOOPT.number();
    }

    @Override
    public int getsockopt(int level, int name, MemorySegment value, MemorySegment len) {
        return -Errno.ENOPROTOOPT.number();
    }

    @Override
    public int shutdown(int how) {
        return 0;
    }

    @Override
    public int pollFd() {
        return -1;
    }

    @Override
    public InetSocketAddress address(boolean local) {
        return NOWHERE;
    }

    @Override
    public EmulatedTx tx() {
        return null;
    }

    @Override
    public void close() {
    }

    @Override
    public String toString() {
        return "synthetic " + stream;
    }
}
