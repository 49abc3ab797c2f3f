package dev.devmem.ffm.emulated;

import dev.devmem.api.Errno;
import dev.devmem.ffm.sys.Structs;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static dev.devmem.ffm.sys.LinuxConstants.DONTNEED_MAX_FRAGS;

/**
 * {@code setsockopt(SOL_SOCKET, SO_DEVMEM_DONTNEED)} of an emulated socket, with the kernel's checks
 * in the kernel's order ({@code sk_setsockopt}: optlen &lt; 4 EINVAL, first word unreadable EFAULT;
 * then {@code sock_devmem_dontneed}: optlen % 8 or &gt; 1024 EINVAL, unreadable EFAULT, at most 1024
 * token ids inspected, existing or not).
 */
final class Dontneed {
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED;

    private Dontneed() {
    }

    /** Frees the listed tokens of {@code tokens}; returns the count freed, or {@code -errno}. */
    static int apply(TokenTable tokens, BufferReturns returns, MemorySegment value, int optlen) {
        if (optlen < 4) {
            return -Errno.EINVAL.number();
        }
        MemorySegment v = readable(value, 4);
        if (v == null) {
            return -Errno.EFAULT.number();
        }
        // sk_is_tcp(): always true here, so never EBADF
        if (optlen % Structs.DMABUF_TOKEN.byteSize() != 0 || optlen > 128 * Structs.DMABUF_TOKEN.byteSize()) {
            return -Errno.EINVAL.number();
        }
        v = readable(value, optlen);
        if (v == null) {
            return -Errno.EFAULT.number();
        }
        int ranges = optlen / (int) Structs.DMABUF_TOKEN.byteSize();
        int freed = 0;
        int inspected = 0;
        try {
            outer:
            for (int i = 0; i < ranges; i++) {
                long o = i * Structs.DMABUF_TOKEN.byteSize();
                long start = Integer.toUnsignedLong(v.get(U32, o + Structs.DMABUF_TOKEN_START));
                long count = Integer.toUnsignedLong(v.get(U32, o + Structs.DMABUF_TOKEN_COUNT));
                for (long j = 0; j < count; j++) {
                    if (++inspected > DONTNEED_MAX_FRAGS) {
                        break outer;
                    }
                    if (tokens.erase((start + j) & 0xFFFF_FFFFL, returns)) {
                        freed++;
                    }
                }
            }
        } finally {
            returns.flush(); // the buffers that reached zero go back to the pool in one lock
        }
        return freed;
    }

    private static MemorySegment readable(MemorySegment value, int len) {
        if (value == null || value.address() == 0) {
            return null;
        }
        if (value.byteSize() == 0) {
            return value.reinterpret(len); // a bare pointer, as the kernel would take it
        }
        return value.byteSize() >= len ? value : null;
    }
}
