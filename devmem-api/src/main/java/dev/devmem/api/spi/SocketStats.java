package dev.devmem.api.spi;

/**
 * Counters of one socket.
 *
 * @param recvCalls        recvmsg calls that returned data
 * @param bytesByKind      bytes received, indexed by {@link dev.devmem.api.FragKind#ordinal()}
 * @param fragsByKind      fragments received, indexed by {@link dev.devmem.api.FragKind#ordinal()}
 * @param tokensOutstanding DMABUF tokens handed out and not yet returned
 * @param hostOutstanding   LINEAR/HOST fragments not yet released
 * @param dontneedCalls    {@code SO_DEVMEM_DONTNEED} calls made
 * @param tokensReturned   tokens the kernel confirmed freed (sum of DONTNEED return values)
 * @param unknownReleases  releases of keys that were not outstanding (ignored)
 */
public record SocketStats(long recvCalls, long[] bytesByKind, long[] fragsByKind, int tokensOutstanding,
                          int hostOutstanding, long dontneedCalls, long tokensReturned, long unknownReleases) {
    public SocketStats {
        bytesByKind = bytesByKind.clone();
        fragsByKind = fragsByKind.clone();
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
