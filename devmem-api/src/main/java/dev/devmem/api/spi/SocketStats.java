package dev.devmem.api.spi;

/**
 * Counters of one socket.
 *
 * @param recvCalls         recvmsg calls that returned data
 * @param bytesByKind       bytes received, indexed by {@link dev.devmem.api.FragKind#ordinal()}
 * @param fragsByKind       fragments received, indexed by {@link dev.devmem.api.FragKind#ordinal()}
 * @param tokensOutstanding DMABUF tokens handed out and not yet released by the application
 * @param hostOutstanding   LINEAR/HOST fragments not yet released
 * @param dontneedCalls     {@code SO_DEVMEM_DONTNEED} calls made
 * @param tokensReturned    tokens the kernel confirmed freed (sum of DONTNEED return values)
 * @param unknownReleases   releases of keys that were not outstanding (ignored)
 * @param dontneedShortfall tokens sent back that the kernel did not confirm freeing (DONTNEED
 *                          returned less than the tokens in the call, or the call failed); non-zero
 *                          on a healthy devmem socket means the kernel and the ledger disagree
 */
public record SocketStats(long recvCalls, long[] bytesByKind, long[] fragsByKind, int tokensOutstanding,
                          int hostOutstanding, long dontneedCalls, long tokensReturned, long unknownReleases,
                          long dontneedShortfall) {
    public SocketStats {
        bytesByKind = bytesByKind.clone();
        fragsByKind = fragsByKind.clone();
    }

    /** Counters without a shortfall count, for backends that do not track it. */
    public SocketStats(long recvCalls, long[] bytesByKind, long[] fragsByKind, int tokensOutstanding,
                       int hostOutstanding, long dontneedCalls, long tokensReturned, long unknownReleases) {
        this(recvCalls, bytesByKind, fragsByKind, tokensOutstanding, hostOutstanding, dontneedCalls,
                tokensReturned, unknownReleases, 0);
    }

    @Override
    public long[] bytesByKind() {
        return bytesByKind.clone();
    }

    @Override
    public long[] fragsByKind() {
        return fragsByKind.clone();
    }
}
