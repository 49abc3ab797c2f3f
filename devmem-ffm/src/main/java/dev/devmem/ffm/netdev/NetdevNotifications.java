package dev.devmem.ffm.netdev;

import dev.devmem.api.DevmemException;
import dev.devmem.ffm.netlink.GenlMessage;
import dev.devmem.ffm.netlink.NetlinkSocket;

import java.time.Duration;
import java.util.Optional;

/**
 * A subscription to one netdev multicast group ({@code mgmt} or {@code page-pool}) on its own
 * socket, so that notifications never interleave with request replies. It sees the network
 * namespace of the thread that opened it.
 */
public final class NetdevNotifications implements AutoCloseable {
    private final NetlinkSocket socket;
    private final int familyId;

    NetdevNotifications(NetlinkSocket socket, int familyId) {
        this.socket = socket;
        this.familyId = familyId;
    }

    /** The next notification, waiting at most {@code timeout}; empty when none came in time. */
    public Optional<NetdevNotification> next(Duration timeout) throws DevmemException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            Optional<GenlMessage> m = socket.receiveNotification(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
            if (m.isEmpty()) {
                return Optional.empty();
            }
            if (m.get().message().type() == familyId) {
                return Optional.of(NetdevNotification.parse(m.get()));
            }
        }
    }

    @Override
    public void close() {
        socket.close();
    }
}
