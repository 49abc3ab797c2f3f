package dev.devmem.ffm.netdev;

import java.lang.foreign.MemorySegment;
import java.util.Objects;
import java.util.Optional;

/**
 * What {@link Netdev#bindTx} binds: a dmabuf fd for devmem TX through one interface.
 *
 * @param ownsDmabufFd whether the binding closes {@code dmabufFd} when it closes (only once bound)
 * @param hostView     a host mapping of the dmabuf, exposed writable so applications can fill it
 */
public record BindTxParams(int ifindex, int dmabufFd, long dmabufSize, boolean ownsDmabufFd,
                           Optional<MemorySegment> hostView) {

    public BindTxParams {
        Objects.requireNonNull(hostView, "hostView");
        if (dmabufFd < 0) {
            throw new IllegalArgumentException("dmabuf fd must be >= 0, was " + dmabufFd);
        }
        if (dmabufSize <= 0) {
            throw new IllegalArgumentException("dmabuf size must be positive, was " + dmabufSize);
        }
    }

    /** A bind of a dmabuf the caller keeps owning, without host view. */
    public static BindTxParams of(int ifindex, int dmabufFd, long dmabufSize) {
        return new BindTxParams(ifindex, dmabufFd, dmabufSize, false, Optional.empty());
    }
}
