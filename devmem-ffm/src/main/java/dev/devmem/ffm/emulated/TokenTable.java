package dev.devmem.ffm.emulated;

import java.util.Arrays;

/**
 * A socket's held frags ({@code sk->sk_user_frags}): an xarray with {@code XA_FLAGS_ALLOC1}
 * allocated with {@code xa_limit_31b}, so a token is the lowest free index in [1, 2^31-1] and a
 * freed index is reused by the next allocation. Each entry pins one reference on one buffer of one
 * binding. Not thread-safe: the owning endpoint serialises access.
 *
 * <p>The free indexes below {@link #next} are a two-level bitmap (one bit per index, and one bit per
 * 64-index word that has a free index), so the lowest free index is two word scans away and freeing
 * one is two bit sets: the kernel's xarray finds the lowest free slot by its marks the same way. A
 * hint remembers the lowest summary word that can have a free index, so the scan starts there.
 */
final class TokenTable {
    static final int MAX_TOKEN = Integer.MAX_VALUE;

    private EmulatedRxBinding[] binding = new EmulatedRxBinding[64];
    private int[] buffer = new int[64];
    /** Every index below {@code next} is either held or free in {@link #free}. */
    private int next = 1;
    /** Bit {@code t & 63} of word {@code t >>> 6}: index {@code t < next} is free. */
    private long[] free = new long[1];
    /** Bit {@code w & 63} of word {@code w >>> 6}: {@code free[w] != 0}. */
    private long[] summary = new long[1];
    /** No summary word below this one has a bit set. */
    private int summaryHint;
    private int freeCount;
    private int outstanding;

    /** The token the next {@link #allocate} will return, or -1 when the space is full. */
    int peekLowestFree() {
        if (freeCount > 0) {
            return lowestFree();
        }
        return next <= MAX_TOKEN && next > 0 ? next : -1;
    }

    /**
     * {@code xa_alloc}: takes the lowest free token for (binding, buffer index); -1 when all 2^31-1
     * are held. The buffer reference is the caller's to take.
     */
    int allocate(EmulatedRxBinding b, int bufferIndex) {
        int token;
        if (freeCount > 0) {
            token = lowestFree();
            int w = token >>> 6;
            long bits = free[w] & (free[w] - 1); // token is w's lowest bit
            free[w] = bits;
            if (bits == 0) {
                summary[w >>> 6] &= ~(1L << (w & 63));
            }
            freeCount--;
        } else {
            if (next <= 0) {
                return -1;
            }
            token = next++;
            if (token >= binding.length) {
                grow(token);
            }
        }
        binding[token] = b;
        buffer[token] = bufferIndex;
        outstanding++;
        return token;
    }

    /**
     * Undoes the {@link #allocate} that returned {@code token} (its cmsg did not fit: the kernel's
     * {@code xa_erase} after a failed {@code put_cmsg_notrunc}); no buffer reference was taken.
     */
    void unallocate(int token) {
        binding[token] = null;
        outstanding--;
        putFree(token);
    }

    /**
     * {@code __xa_erase}: removes token {@code id} (a u32) and drops its buffer reference through
     * {@code returns}; false if not held.
     */
    boolean erase(long id, BufferReturns returns) {
        if (id <= 0 || id >= next || id > MAX_TOKEN) {
            return false;
        }
        int t = (int) id;
        EmulatedRxBinding b = binding[t];
        if (b == null) {
            return false;
        }
        binding[t] = null;
        outstanding--;
        putFree(t);
        returns.drop(b, buffer[t]);
        return true;
    }

    /** Drops every held token (the socket is being destroyed). Returns how many there were. */
    int clear(BufferReturns returns) {
        int n = 0;
        for (int t = 1; t < next && outstanding > 0; t++) {
            EmulatedRxBinding b = binding[t];
            if (b != null) {
                binding[t] = null;
                outstanding--;
                n++;
                returns.drop(b, buffer[t]);
            }
        }
        next = 1;
        freeCount = 0;
        Arrays.fill(free, 0L);
        Arrays.fill(summary, 0L);
        summaryHint = 0;
        return n;
    }

    int outstanding() {
        return outstanding;
    }

    private void grow(int token) {
        int n = (int) Math.min(2L * binding.length, MAX_TOKEN);
        binding = Arrays.copyOf(binding, Math.max(n, token + 1));
        buffer = Arrays.copyOf(buffer, binding.length);
        int words = (int) ((binding.length + 63L) >>> 6);
        if (words > free.length) {
            free = Arrays.copyOf(free, words);
            summary = Arrays.copyOf(summary, (int) ((words + 63L) >>> 6));
        }
    }

    private void putFree(int t) {
        int w = t >>> 6;
        long old = free[w];
        free[w] = old | (1L << t);
        if (old == 0) {
            int s = w >>> 6;
            summary[s] |= 1L << w;
            if (s < summaryHint) {
                summaryHint = s;
            }
        }
        freeCount++;
    }

    /** The lowest free index below {@code next}; only when {@code freeCount > 0}. */
    private int lowestFree() {
        int s = summaryHint;
        long sw = summary[s];
        while (sw == 0) {
            sw = summary[++s];
        }
        summaryHint = s;
        int w = (s << 6) + Long.numberOfTrailingZeros(sw);
        return (w << 6) + Long.numberOfTrailingZeros(free[w]);
    }
}
