package dev.devmem.ffm.netlink;

/**
 * Numbers of the netlink and generic-netlink wire protocol ({@code uapi/linux/netlink.h},
 * {@code genetlink.h}). Socket-level constants ({@code SOL_NETLINK}, {@code NETLINK_EXT_ACK}, ...)
 * stay in {@link dev.devmem.ffm.sys.LinuxConstants}; family-specific ids live with their family.
 */
public final class NetlinkConstants {
    private NetlinkConstants() {
    }

    /** {@code struct nlmsghdr}: len u32, type u16, flags u16, seq u32, pid u32. */
    public static final int NLMSG_HDRLEN = 16;
    /** {@code struct genlmsghdr}: cmd u8, version u8, reserved u16. */
    public static final int GENL_HDRLEN = 4;
    /** {@code struct nlattr}: len u16 (header included, padding excluded), type u16. */
    public static final int NLA_HDRLEN = 4;
    /** {@code struct sockaddr_nl}: family u16, pad u16, pid u32, groups u32. */
    public static final int SOCKADDR_NL_SIZE = 12;

    // message types
    public static final int NLMSG_NOOP = 1;
    public static final int NLMSG_ERROR = 2;
    public static final int NLMSG_DONE = 3;
    public static final int NLMSG_OVERRUN = 4;
    /** Family ids start here; it is also nlctrl's id. */
    public static final int GENL_ID_CTRL = 0x10;

    // nlmsghdr flags
    public static final int NLM_F_REQUEST = 0x1;
    public static final int NLM_F_MULTI = 0x2;
    public static final int NLM_F_ACK = 0x4;
    public static final int NLM_F_ECHO = 0x8;
    public static final int NLM_F_DUMP_INTR = 0x10;
    public static final int NLM_F_DUMP = 0x300;
    /** In an ERROR/ACK: the original payload was left out (NETLINK_CAP_ACK). */
    public static final int NLM_F_CAPPED = 0x100;
    /** In an ERROR/ACK or DONE: extended-ACK TLVs follow. */
    public static final int NLM_F_ACK_TLVS = 0x200;

    // nlattr type bits
    public static final int NLA_F_NESTED = 0x8000;
    public static final int NLA_F_NET_BYTEORDER = 0x4000;
    public static final int NLA_TYPE_MASK = ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER) & 0xFFFF;

    // extended ACK TLVs (enum nlmsgerr_attrs)
    public static final int NLMSGERR_ATTR_MSG = 1;
    public static final int NLMSGERR_ATTR_OFFS = 2;
    public static final int NLMSGERR_ATTR_COOKIE = 3;
    public static final int NLMSGERR_ATTR_POLICY = 4;
    public static final int NLMSGERR_ATTR_MISS_TYPE = 5;
    public static final int NLMSGERR_ATTR_MISS_NEST = 6;

    // policy description (enum netlink_policy_type_attr)
    public static final int NL_POLICY_TYPE_ATTR_TYPE = 1;
    public static final int NL_POLICY_TYPE_ATTR_MIN_VALUE_S = 2;
    public static final int NL_POLICY_TYPE_ATTR_MAX_VALUE_S = 3;
    public static final int NL_POLICY_TYPE_ATTR_MIN_VALUE_U = 4;
    public static final int NL_POLICY_TYPE_ATTR_MAX_VALUE_U = 5;
    public static final int NL_POLICY_TYPE_ATTR_MIN_LENGTH = 6;
    public static final int NL_POLICY_TYPE_ATTR_MAX_LENGTH = 7;
    public static final int NL_POLICY_TYPE_ATTR_POLICY_IDX = 8;
    public static final int NL_POLICY_TYPE_ATTR_POLICY_MAXTYPE = 9;
    public static final int NL_POLICY_TYPE_ATTR_BITFIELD32_MASK = 10;
    public static final int NL_POLICY_TYPE_ATTR_PAD = 11;
    public static final int NL_POLICY_TYPE_ATTR_MASK = 12;

    // nlctrl commands and attributes
    public static final int CTRL_CMD_GETFAMILY = 3;
    public static final int CTRL_CMD_GETPOLICY = 10;
    public static final int CTRL_ATTR_FAMILY_ID = 1;
    public static final int CTRL_ATTR_FAMILY_NAME = 2;
    public static final int CTRL_ATTR_VERSION = 3;
    public static final int CTRL_ATTR_HDRSIZE = 4;
    public static final int CTRL_ATTR_MAXATTR = 5;
    public static final int CTRL_ATTR_OPS = 6;
    public static final int CTRL_ATTR_MCAST_GROUPS = 7;
    public static final int CTRL_ATTR_POLICY = 8;
    public static final int CTRL_ATTR_OP_POLICY = 9;
    public static final int CTRL_ATTR_OP = 10;
    public static final int CTRL_ATTR_OP_ID = 1;
    public static final int CTRL_ATTR_OP_FLAGS = 2;
    public static final int CTRL_ATTR_MCAST_GRP_NAME = 1;
    public static final int CTRL_ATTR_MCAST_GRP_ID = 2;
    public static final int CTRL_ATTR_POLICY_DO = 1;
    public static final int CTRL_ATTR_POLICY_DUMP = 2;

    // genl op flags (CTRL_ATTR_OP_FLAGS)
    public static final int GENL_ADMIN_PERM = 0x01;
    public static final int GENL_CMD_CAP_DO = 0x02;
    public static final int GENL_CMD_CAP_DUMP = 0x04;
    public static final int GENL_CMD_CAP_HASPOL = 0x08;
    public static final int GENL_UNS_ADMIN_PERM = 0x10;

    /** Rounds up to netlink's 4-byte alignment (NLMSG_ALIGN, NLA_ALIGN). */
    public static int align(int len) {
        return (len + 3) & ~3;
    }
}
