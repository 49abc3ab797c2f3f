package dev.devmem.ffm.netlink;

import static dev.devmem.ffm.netlink.NetlinkConstants.*;

/**
 * One command a family offers, as nlctrl lists it. The flags tell what the running kernel really
 * supports, which is how features are detected (never from the kernel version string).
 *
 * @param id    the command number
 * @param flags {@code GENL_ADMIN_PERM}, {@code GENL_CMD_CAP_DO}, {@code _DUMP}, {@code _HASPOL},
 *              {@code GENL_UNS_ADMIN_PERM}
 */
public record GenlOp(int id, int flags) {

    public boolean canDo() {
        return (flags & GENL_CMD_CAP_DO) != 0;
    }

    public boolean canDump() {
        return (flags & GENL_CMD_CAP_DUMP) != 0;
    }

    /** Needs CAP_NET_ADMIN in the initial user namespace. */
    public boolean needsAdmin() {
        return (flags & GENL_ADMIN_PERM) != 0;
    }

    /** Needs CAP_NET_ADMIN in the user namespace owning the network namespace. */
    public boolean needsNamespaceAdmin() {
        return (flags & GENL_UNS_ADMIN_PERM) != 0;
    }

    public boolean hasPolicy() {
        return (flags & GENL_CMD_CAP_HASPOL) != 0;
    }

    /** E.g. {@code 13 ADMIN|DO|HASPOL}. */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        if (needsAdmin()) {
            sb.append("|ADMIN");
        }
        if (needsNamespaceAdmin()) {
            sb.append("|UNS_ADMIN");
        }
        if (canDo()) {
            sb.append("|DO");
        }
        if (canDump()) {
            sb.append("|DUMP");
        }
        if (hasPolicy()) {
            sb.append("|HASPOL");
        }
        return id + " " + (sb.isEmpty() ? "-" : sb.substring(1));
    }
}
