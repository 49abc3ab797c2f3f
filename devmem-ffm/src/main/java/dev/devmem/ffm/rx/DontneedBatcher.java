package dev.devmem.ffm.rx;

import dev.devmem.api.Errno;
import dev.devmem.api.SyscallException;
import dev.devmem.ffm.sys.LinuxConstants;
import dev.devmem.ffm.sys.Structs;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * Returns DMABUF tokens to the kernel in as few {@code setsockopt(SO_DEVMEM_DONTNEED)} calls as it
 * accepts.
 *
 * <p>Why: the reference client returns one token per syscall; at 4 KiB per frag that is a quarter
 * of a million syscalls per GiB. Tokens are collected, sorted, and truly consecutive ones are
 * coalesced into {@code struct dmabuf_token} ranges. Each call carries at most
 * {@link LinuxConstants#DONTNEED_MAX_RANGES} ranges (the kernel's {@code optlen <= 1024} check) and
 * at most {@link LinuxConstants#DONTNEED_MAX_FRAGS} tokens counted over its ranges (the kernel stops
 * processing silently after that many, so a larger range is split, never sent whole).
 *
 * <p>Only tokens the caller proved outstanding may be added (see {@link TokenLedger}); this class
 * neither checks nor remembers tokens once sent. The range buffer is native memory of the owning
 * socket; nothing is allocated per token. Not thread-safe.
 */
final class DontneedBatcher {
    static final String OPERATION = "setsockopt(SO_DEVMEM_DONTNEED)";
    /** Pending tokens that trigger a flush: one call's worth of frags. */
    static final int CAPACITY = LinuxConstants.DONTNEED_MAX_FRAGS;
    private static final long TOKEN_SIZE = Structs.DMABUF_TOKEN.byteSize();
    /** Bytes of native range buffer a batcher needs. */
    static final long RANGE_BUFFER_BYTES = LinuxConstants.DONTNEED_MAX_RANGES * TOKEN_SIZE;

    private final MemorySegment ranges;
    private final int[] pending = new int[CAPACITY];
    private int count;

    private long calls;
    private long returned;
    private long shortfall;

    /** @param ranges at least {@link #RANGE_BUFFER_BYTES} bytes of native memory, 4-byte aligned */
    DontneedBatcher(MemorySegment ranges) {
        if (ranges.byteSize() < RANGE_BUFFER_BYTES) {
            throw new IllegalArgumentException("range buffer needs " + RANGE_BUFFER_BYTES + " bytes");
        }
        this.ranges = ranges;
    }

    /** Queues one token; returns {@code true} when the batch is full and should be flushed now. */
    boolean add(int token) {
        if (count == CAPACITY) {
            throw new IllegalStateException("flush before adding: " + CAPACITY + " tokens pending");
        }
        pending[count++] = token;
        return count == CAPACITY;
    }

    int pending() {
        return count;
    }

    /** Forgets queued tokens without sending them (the socket is closing; the kernel frees them). */
    void discard() {
        count = 0;
    }

    /**
     * Sends every queued token back. Returns the number of setsockopt calls made.
     *
     * <p>A call that frees fewer tokens than it carried is not an error (the kernel skips ids it
     * does not hold; on a kernel without a devmem NIC it never issued any), but the difference is
     * counted in {@link #shortfall()}. On an errno the queued tokens are dropped and counted in
     * the shortfall as well: the kernel still frees them when the socket closes.
     *
     * @throws SyscallException the kernel's errno, e.g. EBADF for a socket that is not TCP
     */
    int flush(SocketEndpoint endpoint) throws SyscallException {
        if (count == 0) {
            return 0;
        }
        sort(pending, count);
        int made = 0;
        int nRanges = 0;
        int nFrags = 0;
        int sentSoFar = 0;
        int i = 0;
        try {
            while (i < count) {
                int start = pending[i];
                int run = 1;
                while (i + run < count && pending[i + run] == start + run) {
                    run++;
                }
                i += run;
                while (run > 0) {
                    if (nRanges == LinuxConstants.DONTNEED_MAX_RANGES || nFrags == LinuxConstants.DONTNEED_MAX_FRAGS) {
                        issue(endpoint, nRanges, nFrags);
                        made++;
                        sentSoFar += nFrags;
                        nRanges = 0;
                        nFrags = 0;
                    }
                    int take = Math.min(run, LinuxConstants.DONTNEED_MAX_FRAGS - nFrags);
                    long at = nRanges * TOKEN_SIZE;
                    ranges.set(ValueLayout.JAVA_INT, at + Structs.DMABUF_TOKEN_START, start);
                    ranges.set(ValueLayout.JAVA_INT, at + Structs.DMABUF_TOKEN_COUNT, take);
                    nRanges++;
                    nFrags += take;
                    start += take;
                    run -= take;
                }
            }
            issue(endpoint, nRanges, nFrags);
            made++;
        } catch (SyscallException e) {
            shortfall += count - sentSoFar;
            count = 0;
            throw e;
        }
        count = 0;
        return made;
    }

    /**
     * Sorts the first {@code n} tokens. Tokens usually come back in the order they were issued, and
     * the kernel issues the lowest free ids, so the array is often sorted already: one pass checks.
     */
    private static void sort(int[] a, int n) {
        for (int i = 1; i < n; i++) {
            if (a[i] < a[i - 1]) {
                Arrays.sort(a, 0, n);
                return;
            }
        }
    }

    private void issue(SocketEndpoint endpoint, int nRanges, int nFrags) throws SyscallException {
        int r = endpoint.setsockopt(LinuxConstants.SOL_SOCKET, LinuxConstants.SO_DEVMEM_DONTNEED,
                ranges, (int) (nRanges * TOKEN_SIZE));
        if (r < 0) {
            throw new SyscallException(OPERATION, Errno.of(-r), explain(-r));
        }
        calls++;
        returned += r;
        if (r < nFrags) {
            shortfall += nFrags - r;
        }
    }

    private static String explain(int errno) {
        return switch (errno) {
            case 9 -> "the socket is closed or is not a TCP socket";
            case 22 -> "the kernel refused the token array (more than 128 ranges, or a length not a multiple of 8)";
            case 92 -> "this kernel has no devmem RX (Linux 6.12+ with CONFIG_NET_DEVMEM)";
            default -> null;
        };
    }

    /** Successful DONTNEED calls. */
    long calls() {
        return calls;
    }

    /** Sum of the kernel's return values: tokens it confirmed freed. */
    long returned() {
        return returned;
    }

    /** Tokens asked back that the kernel did not confirm freeing (or that an errno stopped). */
    long shortfall() {
        return shortfall;
    }
}
