package dev.devmem.ffm.rx;

/**
 * The set of DMABUF tokens a socket has handed to the application and not yet had back.
 *
 * <p>Why it exists: the kernel reuses token ids as soon as they are returned, so a token released
 * twice could free a fragment somebody else now holds. Only tokens in this ledger are ever sent to
 * {@code SO_DEVMEM_DONTNEED}, and each leaves it exactly once.
 *
 * <p>Tokens are small and dense in practice (the kernel takes the lowest free index), so tokens below
 * {@link #DENSE} are one bit each in a bitmap (add and remove are one word update, no probing); any
 * other positive token goes to an open-addressing set (linear probing, deletion by backward shift, so
 * no tombstones), so nothing here relies on density for correctness. The set grows by doubling, so
 * adding costs no allocation per token in the steady state. Not thread-safe: owned by the socket's
 * I/O thread.
 */
final class TokenLedger {
    private static final int EMPTY = 0;
    /** Tokens below this are kept in {@link #dense}: 64 K tokens, 8 KiB. */
    static final int DENSE = 1 << 16;

    private final long[] dense = new long[DENSE >>> 6];
    /** Members of {@link #slots} (tokens >= DENSE). */
    private int sparse;

    private int[] slots;
    private int mask;
    private int shift;
    private int size;

    TokenLedger(int expected) {
        int cap = Integer.highestOneBit(Math.max(16, expected * 2 - 1)) << 1;
        slots = new int[cap];
        mask = cap - 1;
        shift = Integer.numberOfLeadingZeros(cap) + 1;
    }

    int size() {
        return size;
    }

    /** Adds a token ({@code > 0}). Returns {@code false} if it was already present. */
    boolean add(int token) {
        if (token <= 0) {
            throw new IllegalArgumentException("tokens are positive, was " + token);
        }
        if (token < DENSE) {
            long bit = 1L << token;
            long w = dense[token >>> 6];
            if ((w & bit) != 0) {
                return false;
            }
            dense[token >>> 6] = w | bit;
            size++;
            return true;
        }
        if ((sparse + 1) * 2 > slots.length) {
            grow();
        }
        int i = index(token);
        while (true) {
            int s = slots[i];
            if (s == EMPTY) {
                slots[i] = token;
                sparse++;
                size++;
                return true;
            }
            if (s == token) {
                return false;
            }
            i = (i + 1) & mask;
        }
    }

    boolean contains(int token) {
        if (token <= 0) {
            return false;
        }
        if (token < DENSE) {
            return (dense[token >>> 6] & (1L << token)) != 0;
        }
        int i = index(token);
        while (true) {
            int s = slots[i];
            if (s == EMPTY) {
                return false;
            }
            if (s == token) {
                return true;
            }
            i = (i + 1) & mask;
        }
    }

    /** Removes a token. Returns {@code false} if it was not present. */
    boolean remove(int token) {
        if (token <= 0) {
            return false;
        }
        if (token < DENSE) {
            long bit = 1L << token;
            long w = dense[token >>> 6];
            if ((w & bit) == 0) {
                return false;
            }
            dense[token >>> 6] = w & ~bit;
            size--;
            return true;
        }
        int i = index(token);
        while (true) {
            int s = slots[i];
            if (s == EMPTY) {
                return false;
            }
            if (s == token) {
                break;
            }
            i = (i + 1) & mask;
        }
        // Backward-shift deletion: pull later members of the probe run into the hole.
        int hole = i;
        int j = i;
        while (true) {
            j = (j + 1) & mask;
            int s = slots[j];
            if (s == EMPTY) {
                break;
            }
            int home = index(s);
            // Move s into the hole unless its home lies cyclically in (hole, j].
            boolean homeBetween = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
            if (!homeBetween) {
                slots[hole] = s;
                hole = j;
            }
        }
        slots[hole] = EMPTY;
        sparse--;
        size--;
        return true;
    }

    void clear() {
        java.util.Arrays.fill(slots, EMPTY);
        java.util.Arrays.fill(dense, 0L);
        sparse = 0;
        size = 0;
    }

    private int index(int token) {
        // Fibonacci hashing spreads consecutive tokens over the table.
        return (token * 0x9E3779B9) >>> shift;
    }

    private void grow() {
        int[] old = slots;
        slots = new int[old.length * 2];
        mask = slots.length - 1;
        shift = Integer.numberOfLeadingZeros(slots.length) + 1;
        size -= sparse;
        sparse = 0;
        for (int t : old) {
            if (t != EMPTY) {
                add(t);
            }
        }
    }
}
