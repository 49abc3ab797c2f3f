package dev.devmem.ffm.ethtool;

import dev.devmem.api.Errno;
import dev.devmem.ffm.netlink.ErrorExplainer;

/**
 * What the ethtool family's answers mean for NIC setup, where the kernel's own text is missing or
 * does not say what to do. The kernel's extack text, when there is one, always comes first in the
 * exception; these sentences follow it.
 */
final class EthtoolExplanations {
    private EthtoolExplanations() {
    }

    static ErrorExplainer of(String op, String ifname) {
        return f -> {
            Errno e = f.errno();
            boolean noText = f.ack().message().isEmpty();
            if (e.equals(Errno.ENODEV)) {
                return "there is no interface " + ifname + " in this network namespace (the netlink socket belongs to "
                        + "the namespace of the thread that opened it)";
            }
            if (e.equals(Errno.EPERM)) {
                return "ethtool " + op + " needs CAP_NET_ADMIN in the user namespace that owns the network namespace";
            }
            if (e.equals(Errno.EOPNOTSUPP) && noText) {
                return switch (op) {
                    case "rings-get", "rings-set" -> "the driver of " + ifname + " has no ring parameters (no "
                            + "get_ringparam), so header split (tcp-data-split) cannot be read or set; lo and veth have none";
                    case "channels-get" -> "the driver of " + ifname + " does not report channels";
                    case "rss-get", "rss-set" -> "the driver of " + ifname + " has no RSS (no get_rxfh/set_rxfh)";
                    case "features-set" -> "the driver of " + ifname + " does not let features change";
                    default -> null;
                };
            }
            return null;
        };
    }
}
