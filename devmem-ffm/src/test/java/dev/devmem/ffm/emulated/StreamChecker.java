package dev.devmem.ffm.emulated;

import dev.devmem.ffm.rx.SocketEndpoint;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Validates a received stream against the netcat pattern of the kernel's devmem documentation
 * (bytes 1..6 then 0x0A, repeating), in stream order: LINEAR bytes from the iov, DMABUF bytes from
 * the dmabuf's host view at the frag offsets, plain bytes from the iov. And returns tokens the way a
 * careful client does: consecutive tokens coalesced into ranges, at most 128 ranges per DONTNEED,
 * and the kernel's count checked.
 */
final class StreamChecker {
    private final Arena arena = Arena.ofAuto();
    private final MemorySegment pattern;
    private final MemorySegment tokens = arena.allocate(128 * 8L, 8);
    long position;
    long dmabufBytes;
    long linearBytes;
    long plainBytes;

    StreamChecker(int maxChunk) {
        pattern = arena.allocate(maxChunk + 8L);
        for (long i = 0; i < pattern.byteSize(); i++) {
            pattern.set(ValueLayout.JAVA_BYTE, i, SyntheticStream.patternByte(i));
        }
    }

    /** The pattern, {@code len} bytes long, aligned to stream position 0 (for senders). */
    static byte[] patternBytes(int len) {
        byte[] b = new byte[len];
        for (int i = 0; i < len; i++) {
            b[i] = SyntheticStream.patternByte(i);
        }
        return b;
    }

    void expect(MemorySegment src, long offset, int len) {
        long p = position % 7;
        long mismatch = MemorySegment.mismatch(src, offset, offset + len, pattern, p, p + len);
        if (mismatch != -1) {
            throw new AssertionError("stream byte " + (position + mismatch) + " is "
                    + src.get(ValueLayout.JAVA_BYTE, offset + mismatch) + ", the pattern says "
                    + SyntheticStream.patternByte(position + mismatch));
        }
        position += len;
    }

    /**
     * Checks the bytes of one successful recvmsg ({@code r} > 0) and returns its tokens. Returns the
     * DMABUF tokens seen.
     */
    int consume(Msg m, long r, MemorySegment dmabuf, SocketEndpoint e, boolean release) {
        List<Msg.Cmsg> cmsgs = m.cmsgs();
        if (cmsgs.isEmpty()) {
            expect(m.data, 0, (int) r);
            plainBytes += r;
            return 0;
        }
        long iovAt = 0;
        long sum = 0;
        int n = 0;
        int ranges = 0;
        int rangeStart = 0;
        int rangeCount = 0;
        for (Msg.Cmsg c : cmsgs) {
            assertThat(c.level()).isEqualTo(1);
            sum += c.fragSize();
            if (c.type() == 79) {
                expect(dmabuf, c.fragOffset(), c.fragSize());
                dmabufBytes += c.fragSize();
                n++;
                if (rangeCount > 0 && c.token() == rangeStart + rangeCount) {
                    rangeCount++;
                } else {
                    if (rangeCount > 0) {
                        ranges = addRange(e, ranges, rangeStart, rangeCount, release);
                    }
                    rangeStart = c.token();
                    rangeCount = 1;
                }
            } else {
                assertThat(c.type()).isEqualTo(78);
                assertThat(c.token()).isZero();
                assertThat(c.dmabufId()).isZero();
                expect(m.data, iovAt, c.fragSize());
                iovAt += c.fragSize();
                linearBytes += c.fragSize();
            }
        }
        assertThat(sum).as("cmsg sizes add up to the recvmsg return").isEqualTo(r);
        if (rangeCount > 0) {
            ranges = addRange(e, ranges, rangeStart, rangeCount, release);
        }
        flush(e, ranges, release);
        return n;
    }

    private int addRange(SocketEndpoint e, int ranges, int start, int count, boolean release) {
        if (ranges == 128) {
            flush(e, ranges, release);
            ranges = 0;
        }
        tokens.set(ValueLayout.JAVA_INT, ranges * 8L, start);
        tokens.set(ValueLayout.JAVA_INT, ranges * 8L + 4, count);
        pending += count;
        return ranges + 1;
    }

    private long pending;

    private void flush(SocketEndpoint e, int ranges, boolean release) {
        if (ranges == 0 || !release) {
            pending = 0;
            return;
        }
        int freed = e.setsockopt(1, 80, tokens, ranges * 8);
        assertThat((long) freed).as("DONTNEED frees every token it was given").isEqualTo(pending);
        pending = 0;
    }
}
