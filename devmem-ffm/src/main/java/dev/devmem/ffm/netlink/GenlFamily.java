package dev.devmem.ffm.netlink;

import dev.devmem.api.DevmemException;
import dev.devmem.api.DevmemProtocolException;
import dev.devmem.api.Errno;
import dev.devmem.api.NetlinkException;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.SortedMap;
import java.util.TreeMap;

import static dev.devmem.ffm.netlink.NetlinkConstants.*;

/**
 * A generic-netlink family as the running kernel registered it: the dynamic id to address it by,
 * the commands it offers with their flags, and its multicast groups. Resolve it by name with
 * {@link #resolve}; an unknown family is a {@link NetlinkException} with {@code ENOENT}.
 *
 * @param ops    by command id
 * @param groups multicast group ids by name
 */
public record GenlFamily(String name, int id, int version, int headerSize, int maxAttr,
                         SortedMap<Integer, GenlOp> ops, Map<String, Integer> groups) {

    /** nlctrl's own attribute names, for errors about GETFAMILY requests. */
    static final AttributeSet CTRL = AttributeSet.named("ctrl")
            .attr(CTRL_ATTR_FAMILY_ID, "family-id")
            .attr(CTRL_ATTR_FAMILY_NAME, "family-name")
            .attr(CTRL_ATTR_VERSION, "version")
            .attr(CTRL_ATTR_HDRSIZE, "hdrsize")
            .attr(CTRL_ATTR_MAXATTR, "maxattr")
            .attr(CTRL_ATTR_OPS, "ops")
            .attr(CTRL_ATTR_MCAST_GROUPS, "mcast-groups")
            .attr(CTRL_ATTR_POLICY, "policy")
            .attr(CTRL_ATTR_OP_POLICY, "op-policy")
            .attr(CTRL_ATTR_OP, "op")
            .build();

    public GenlFamily {
        ops = Collections.unmodifiableSortedMap(new TreeMap<>(ops));
        groups = Collections.unmodifiableMap(new LinkedHashMap<>(groups));
    }

    /** Asks nlctrl ({@code CTRL_CMD_GETFAMILY}) for the family called {@code name}. */
    public static GenlFamily resolve(NetlinkSocket socket, String name) throws DevmemException {
        GenlRequest request = getFamilyRequest(name);
        List<GenlMessage> replies = socket.request(request, failure ->
                failure.errno().equals(Errno.ENOENT)
                        ? "the kernel has no generic-netlink family \"" + name + "\" (not built in, or module not loaded)"
                        : null);
        if (replies.size() != 1) {
            throw new DevmemProtocolException("nlctrl getfamily " + name + ": expected one reply, got " + replies.size());
        }
        return parse(replies.getFirst());
    }

    /** The GETFAMILY request for {@code name} (exposed for golden tests). */
    static GenlRequest getFamilyRequest(String name) {
        return new GenlMessageWriter("nlctrl getfamily " + name, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 1, CTRL)
                .string(CTRL_ATTR_FAMILY_NAME, name)
                .build();
    }

    /** Parses a {@code CTRL_CMD_NEWFAMILY} reply. */
    public static GenlFamily parse(GenlMessage reply) throws DevmemProtocolException {
        NlAttributes a = reply.attributes();
        SortedMap<Integer, GenlOp> ops = new TreeMap<>();
        for (NlAttributes op : a.nestedArray(CTRL_ATTR_OPS)) {
            int id = op.requireU32(CTRL_ATTR_OP_ID);
            ops.put(id, new GenlOp(id, op.u32(CTRL_ATTR_OP_FLAGS).orElse(0)));
        }
        Map<String, Integer> groups = new LinkedHashMap<>();
        for (NlAttributes g : a.nestedArray(CTRL_ATTR_MCAST_GROUPS)) {
            groups.put(g.requireString(CTRL_ATTR_MCAST_GRP_NAME), g.requireU32(CTRL_ATTR_MCAST_GRP_ID));
        }
        return new GenlFamily(a.requireString(CTRL_ATTR_FAMILY_NAME), a.requireU16(CTRL_ATTR_FAMILY_ID),
                a.u32(CTRL_ATTR_VERSION).orElse(0), a.u32(CTRL_ATTR_HDRSIZE).orElse(0),
                a.u32(CTRL_ATTR_MAXATTR).orElse(0), ops, groups);
    }

    public Optional<GenlOp> op(int cmd) {
        return Optional.ofNullable(ops.get(cmd));
    }

    /** Whether the kernel offers {@code cmd} as a do request. */
    public boolean canDo(int cmd) {
        return op(cmd).filter(GenlOp::canDo).isPresent();
    }

    /** Whether the kernel offers {@code cmd} as a dump. */
    public boolean canDump(int cmd) {
        return op(cmd).filter(GenlOp::canDump).isPresent();
    }

    /** The id of the multicast group called {@code groupName}, when the family has it. */
    public OptionalInt group(String groupName) {
        Integer g = groups.get(groupName);
        return g == null ? OptionalInt.empty() : OptionalInt.of(g);
    }

    /** A writer for a request to this family, named {@code <family> <operation>} in errors. */
    public GenlMessageWriter writer(String operation, int cmd, AttributeSet attributes) {
        if (headerSize != 0) {
            throw new UnsupportedOperationException(name + " has a " + headerSize + "-byte user header; not supported");
        }
        return new GenlMessageWriter(name + " " + operation, id, cmd, version, attributes);
    }
}
