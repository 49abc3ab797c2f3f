package dev.devmem.ffm.netlink;

import dev.devmem.api.DevmemProtocolException;

import static dev.devmem.ffm.netlink.NetlinkConstants.GENL_HDRLEN;
import static dev.devmem.ffm.netlink.NetlinkConstants.NLMSG_HDRLEN;

/**
 * A generic-netlink message from a family: reply, dump part or notification. Families with a
 * user header ({@code hdrsize > 0}) are not supported; nlctrl, netdev and ethtool have none.
 *
 * @param cmd        {@code genlmsghdr.cmd}: the reply's or notification's command
 * @param attributes the attributes after the headers
 */
public record GenlMessage(NlMessage message, int cmd, int version, NlAttributes attributes) {

    /** The offset of the first attribute from the start of the {@code nlmsghdr}. */
    public static final int ATTRIBUTES_OFFSET = NLMSG_HDRLEN + GENL_HDRLEN;

    public static GenlMessage parse(NlMessage message, String context) throws DevmemProtocolException {
        byte[] b = message.bytes();
        if (b.length < ATTRIBUTES_OFFSET) {
            throw new DevmemProtocolException(context + ": generic-netlink message of " + b.length
                    + " bytes has no room for its genlmsghdr");
        }
        return new GenlMessage(message, b[NLMSG_HDRLEN] & 0xFF, b[NLMSG_HDRLEN + 1] & 0xFF,
                NlAttributes.parse(b, ATTRIBUTES_OFFSET, b.length - ATTRIBUTES_OFFSET, context));
    }
}
