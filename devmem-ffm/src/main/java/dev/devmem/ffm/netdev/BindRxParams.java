package dev.devmem.ffm.netdev;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * What {@link Netdev#bindRx} binds: a dmabuf fd to rx queues of one interface (by ifindex, in the
 * calling thread's network namespace).
 *
 * @param rxQueues       rx queue ids; the kernel would merge duplicates, so they are refused here
 * @param dmabufFd       a dmabuf file descriptor; the kernel takes its own reference while binding
 * @param dmabufSize     its size in bytes, reported by the binding
 * @param ownsDmabufFd   whether the binding closes {@code dmabufFd} when it closes; ownership passes
 *                       only when the bind succeeds
 * @param hostView       a host mapping of the dmabuf, when it has one (udmabuf); exposed read-only
 */
public record BindRxParams(int ifindex, List<Integer> rxQueues, int dmabufFd, long dmabufSize,
                           boolean ownsDmabufFd, Optional<MemorySegment> hostView) {

    public BindRxParams {
        rxQueues = List.copyOf(Objects.requireNonNull(rxQueues, "rxQueues"));
        Objects.requireNonNull(hostView, "hostView");
        if (rxQueues.isEmpty()) {
            throw new IllegalArgumentException("at least one rx queue is needed");
        }
        if (rxQueues.stream().distinct().count() != rxQueues.size()) {
            throw new IllegalArgumentException("rx queues repeat: " + rxQueues);
        }
        if (rxQueues.stream().anyMatch(q -> q < 0)) {
            throw new IllegalArgumentException("rx queue ids are >= 0: " + rxQueues);
        }
        if (dmabufFd < 0) {
            throw new IllegalArgumentException("dmabuf fd must be >= 0, was " + dmabufFd);
        }
        if (dmabufSize <= 0) {
            throw new IllegalArgumentException("dmabuf size must be positive, was " + dmabufSize);
        }
    }

    /** A bind of a dmabuf the caller keeps owning, without host view. */
    public static BindRxParams of(int ifindex, List<Integer> rxQueues, int dmabufFd, long dmabufSize) {
        return new BindRxParams(ifindex, rxQueues, dmabufFd, dmabufSize, false, Optional.empty());
    }
}
