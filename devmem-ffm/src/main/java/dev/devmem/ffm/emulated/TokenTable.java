package dev.devmem.ffm.emulated;

import java.util.Arrays;

/**
 * A socket's held frags ({@code sk->sk_user_frags}): an xarray with {@code XA_FLAGS_ALLOC1}
 * allocated with {@code xa_limit_31b}, so a token is the lowest free index in [1, 2^31-1] and a
 * freed index is reused by the next allocation. Each entry pins one reference on one buffer of one
 * binding. Not thread-safe: the owning endpoint serialises access.
 */
final class TokenTable {
    static final int MAX_TOKEN = Integer.MAX_VALUE;

    private EmulatedRxBinding[] binding = new EmulatedRxBinding[64];
    private int[] buffer = new int[64];
    /** Every index below {@code next} is either held or in {@link #freeHeap}. */
    private int next = 1;
    private int[] freeHeap = new int[16];
    private int freeCount;
    private int outstanding;

    /** The token the next {@link #allocate} will return, or -1 when the space is full. */
    int peekLowestFree() {
        if (freeCount > 0) {
            return freeHeap[0];
        }
        return next <= MAX_TOKEN && next > 0 ? next : -1;
    }

    /** Takes the lowest free token for (binding, buffer index); -1 when all 2^31-1 are held. */
    int allocate(EmulatedRxBinding b, int bufferIndex) {
        int token;
        if (freeCount > 0) {
            token = popMin();
        } else {
            if (next <= 0) {
                return -1;
            }
            token = next++;
            if (token >= binding.length) {
                int n = (int) Math.min(2L * binding.length, MAX_TOKEN);
                binding = Arrays.copyOf(binding, Math.max(n, token + 1));
                buffer = Arrays.copyOf(buffer, binding.length);
            }
        }
        binding[token] = b;
        buffer[token] = bufferIndex;
        outstanding++;
        return token;
    }

    /** {@code __xa_erase}: removes token {@code id} (a u32) and drops its buffer reference; false if not held. */
    boolean erase(long id) {
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
        pushFree(t);
        b.unref(buffer[t]);
        return true;
    }

    /** Drops every held token (the socket is being destroyed). Returns how many there were. */
    int clear() {
        int n = 0;
        for (int t = 1; t < next && outstanding > 0; t++) {
            EmulatedRxBinding b = binding[t];
            if (b != null) {
                binding[t] = null;
                outstanding--;
                n++;
                b.unref(buffer[t]);
            }
        }
        next = 1;
        freeCount = 0;
        return n;
    }

    int outstanding() {
        return outstanding;
    }

    private void pushFree(int t) {
        if (freeCount == freeHeap.length) {
            freeHeap = Arrays.copyOf(freeHeap, freeCount * 2);
        }
        int i = freeCount++;
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            if (freeHeap[parent] <= t) {
                break;
            }
            freeHeap[i] = freeHeap[parent];
            i = parent;
        }
        freeHeap[i] = t;
    }

    private int popMin() {
        int min = freeHeap[0];
        int last = freeHeap[--freeCount];
        int i = 0;
        int half = freeCount >>> 1;
        while (i < half) {
            int child = 2 * i + 1;
            if (child + 1 < freeCount && freeHeap[child + 1] < freeHeap[child]) {
                child++;
            }
            if (last <= freeHeap[child]) {
                break;
            }
            freeHeap[i] = freeHeap[child];
            i = child;
        }
        if (freeCount > 0) {
            freeHeap[i] = last;
        }
        return min;
    }
}
