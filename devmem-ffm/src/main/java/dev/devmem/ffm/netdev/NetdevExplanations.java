package dev.devmem.ffm.netdev;

import dev.devmem.api.Errno;
import dev.devmem.ffm.netlink.ErrorExplainer;

/**
 * What netdev's answers mean where the kernel gives no text (see the ABI fact sheet, section 1.3):
 * the library's knowledge of the order of bind-rx's checks turns {@code EOPNOTSUPP} plus the offset
 * of {@code ifindex} into "this device cannot do devmem", and so on.
 */
final class NetdevExplanations {
    private NetdevExplanations() {
    }

    static final String NO_QUEUE_API = "the device has no queue-management support (the netdev queue API a "
            + "driver provides to restart one rx queue with another memory provider), so it cannot do devmem; "
            + "lo, veth and most drivers lack it (devmem RX drivers: bnxt_en 6.16, mlx5 6.17, gve and fbnic 6.18)";

    static final String BIND_RX_EPERM = "bind-rx needs CAP_NET_ADMIN (in the initial user namespace); the kernel "
            + "checks it before anything else. Bind from a privileged process and hand the socket work to the "
            + "unprivileged one, or grant the capability";

    static final String BIND_TX_EPERM = "bind-tx was refused for lack of privilege: this kernel checks one "
            + "(an admin-perm check for bind-tx was proposed upstream; Linux 6.16 to 6.19 have none). Run with "
            + "CAP_NET_ADMIN";

    static final String NO_NETMEM_TX = "the driver has not opted into devmem TX (netmem TX); lo, veth and most "
            + "drivers have not (devmem TX drivers: gve 6.16, bnxt_en and mlx5 6.17, fbnic 6.18)";

    static String noSuchDevice(int ifindex) {
        return "there is no interface with ifindex " + ifindex + " in this network namespace (a netlink socket "
                + "belongs to the namespace of the thread that opened it)";
    }

    static ErrorExplainer bindRx(int ifindex) {
        return f -> {
            Errno e = f.errno();
            if (e.equals(Errno.EPERM)) {
                return BIND_RX_EPERM;
            }
            if (e.equals(Errno.ENODEV)) {
                return noSuchDevice(ifindex);
            }
            if (f.ack().message().isEmpty() && f.is(Errno.EOPNOTSUPP, "dmabuf.ifindex")) {
                return NO_QUEUE_API;
            }
            if (e.equals(Errno.EBADF)) {
                return "the dmabuf fd is not open in this process";
            }
            return null;
        };
    }

    static ErrorExplainer bindTx(int ifindex) {
        return f -> {
            Errno e = f.errno();
            if (e.equals(Errno.EPERM)) {
                return BIND_TX_EPERM;
            }
            if (e.equals(Errno.ENODEV)) {
                return noSuchDevice(ifindex);
            }
            if (e.equals(Errno.EOPNOTSUPP) && f.ack().message().filter(m -> m.contains("netmem TX")).isPresent()) {
                return NO_NETMEM_TX;
            }
            return null;
        };
    }

    static ErrorExplainer device(int ifindex) {
        return f -> f.errno().equals(Errno.ENODEV) ? noSuchDevice(ifindex) : null;
    }

    static ErrorExplainer qstats() {
        return f -> f.errno().equals(Errno.EOPNOTSUPP) && f.ack().message().isEmpty()
                ? "the device keeps no queue statistics for netlink (its driver has no netdev stat ops)"
                : null;
    }
}
