package dev.devmem.ffm.netdev;

import dev.devmem.api.DevmemProtocolException;
import dev.devmem.ffm.netlink.GenlMessage;

import java.util.Optional;

import static dev.devmem.ffm.netdev.NetdevSpec.*;

/**
 * A netdev multicast notification: a device or page pool appeared, changed or went away. Devmem
 * bindings produce none (watch {@link NetdevQueue#dmabuf()} instead).
 *
 * @param cmd      the notification's command, e.g. {@link NetdevSpec#CMD_DEV_ADD_NTF}
 * @param device   for the {@code dev-*-ntf} kinds
 * @param pagePool for the {@code page-pool-*-ntf} kinds
 */
public record NetdevNotification(Kind kind, int cmd, Optional<NetdevDevice> device,
                                 Optional<NetdevPagePool> pagePool) {

    /** What happened; {@code OTHER} for commands newer than this library. */
    public enum Kind {
        DEV_ADD, DEV_DEL, DEV_CHANGE, PAGE_POOL_ADD, PAGE_POOL_DEL, PAGE_POOL_CHANGE, OTHER
    }

    static NetdevNotification parse(GenlMessage m) throws DevmemProtocolException {
        return switch (m.cmd()) {
            case CMD_DEV_ADD_NTF -> dev(Kind.DEV_ADD, m);
            case CMD_DEV_DEL_NTF -> dev(Kind.DEV_DEL, m);
            case CMD_DEV_CHANGE_NTF -> dev(Kind.DEV_CHANGE, m);
            case CMD_PAGE_POOL_ADD_NTF -> pool(Kind.PAGE_POOL_ADD, m);
            case CMD_PAGE_POOL_DEL_NTF -> pool(Kind.PAGE_POOL_DEL, m);
            case CMD_PAGE_POOL_CHANGE_NTF -> pool(Kind.PAGE_POOL_CHANGE, m);
            default -> new NetdevNotification(Kind.OTHER, m.cmd(), Optional.empty(), Optional.empty());
        };
    }

    private static NetdevNotification dev(Kind k, GenlMessage m) throws DevmemProtocolException {
        return new NetdevNotification(k, m.cmd(), Optional.of(NetdevDevice.parse(m.attributes())), Optional.empty());
    }

    private static NetdevNotification pool(Kind k, GenlMessage m) throws DevmemProtocolException {
        return new NetdevNotification(k, m.cmd(), Optional.empty(), Optional.of(NetdevPagePool.parse(m.attributes())));
    }
}
