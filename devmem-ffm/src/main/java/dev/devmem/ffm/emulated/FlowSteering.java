package dev.devmem.ffm.emulated;

import java.net.InetSocketAddress;
import java.util.Objects;

/**
 * Which emulated rx queue a TCP flow lands on: the emulated counterpart of RSS and of
 * {@code ethtool -N ... queue N} flow rules. A flow whose queue has no dmabuf bound comes back as
 * plain data (no devmem cmsg), exactly like an unsteered flow on a real devmem NIC.
 */
@FunctionalInterface
public interface FlowSteering {

    /**
     * The rx queue for the flow {@code local <- remote}, in {@code [0, queueCount)}.
     *
     * @param local      the local (receiving) address of the connection
     * @param remote     the peer's address
     * @param queueCount the NIC's rx queue count
     */
    int queueFor(InetSocketAddress local, InetSocketAddress remote, int queueCount);

    /** Every flow to one queue (what ncdevmem sets up with {@code ethtool -N}). */
    static FlowSteering toQueue(int queue) {
        if (queue < 0) {
            throw new IllegalArgumentException("queue must be >= 0, was " + queue);
        }
        return (local, remote, count) -> queue;
    }

    /**
     * RSS: a hash of the 4-tuple spread over all queues. Deterministic for a given 4-tuple, so a
     * test can compute where a flow goes with {@link #queueFor}.
     */
    static FlowSteering rss() {
        return (local, remote, count) -> {
            int h = Objects.hash(local.getAddress(), local.getPort(), remote.getAddress(), remote.getPort());
            h ^= h >>> 16;
            return Math.floorMod(h * 0x9E3779B1, count);
        };
    }

    /** Flows whose local port is {@code localPort} go to {@code queue}; the rest follow {@code otherwise}. */
    static FlowSteering localPort(int localPort, int queue, FlowSteering otherwise) {
        Objects.requireNonNull(otherwise, "otherwise");
        if (queue < 0) {
            throw new IllegalArgumentException("queue must be >= 0, was " + queue);
        }
        return (local, remote, count) -> local.getPort() == localPort ? queue : otherwise.queueFor(local, remote, count);
    }
}
