package dev.devmem.ffm.netlink;

import dev.devmem.api.DevmemException;
import dev.devmem.api.DevmemProtocolException;

import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.TreeMap;

import static dev.devmem.ffm.netlink.NetlinkConstants.*;

/**
 * The attribute policies the kernel enforces for one command ({@code CTRL_CMD_GETPOLICY}): which
 * attributes a do or dump request may carry and with what limits. It detects attributes a kernel
 * added after the family's commands (bind-rx {@code autorelease} is one in waiting) without
 * reading the kernel version.
 *
 * @param policies every policy the dump listed, by policy index then attribute type
 */
public record OpPolicy(int cmd, OptionalInt doPolicy, OptionalInt dumpPolicy,
                       Map<Integer, Map<Integer, AttributePolicy>> policies) {

    public OpPolicy {
        Map<Integer, Map<Integer, AttributePolicy>> copy = new TreeMap<>();
        policies.forEach((k, v) -> copy.put(k, Collections.unmodifiableMap(new TreeMap<>(v))));
        policies = Collections.unmodifiableMap(copy);
    }

    /** Dumps the policy of {@code cmd} of {@code family}. */
    public static OpPolicy query(NetlinkSocket socket, GenlFamily family, int cmd) throws DevmemException {
        GenlRequest r = new GenlMessageWriter("nlctrl getpolicy " + family.name() + " " + cmd, GENL_ID_CTRL,
                CTRL_CMD_GETPOLICY, 1, GenlFamily.CTRL)
                .u16(CTRL_ATTR_FAMILY_ID, family.id())
                .u32(CTRL_ATTR_OP, cmd)
                .build();
        return parse(cmd, socket.dump(r));
    }

    static OpPolicy parse(int cmd, List<GenlMessage> parts) throws DevmemProtocolException {
        OptionalInt doIdx = OptionalInt.empty();
        OptionalInt dumpIdx = OptionalInt.empty();
        Map<Integer, Map<Integer, AttributePolicy>> policies = new HashMap<>();
        for (GenlMessage m : parts) {
            NlAttributes a = m.attributes();
            Optional<NlAttributes> op = a.nested(CTRL_ATTR_OP_POLICY);
            if (op.isPresent()) {
                // one nest per op, typed by the command (0 for some dump-only ops)
                for (int i = 0; i < op.get().size(); i++) {
                    NlAttributes idx = op.get().nestedAt(i);
                    doIdx = idx.u32(CTRL_ATTR_POLICY_DO).isPresent() ? idx.u32(CTRL_ATTR_POLICY_DO) : doIdx;
                    dumpIdx = idx.u32(CTRL_ATTR_POLICY_DUMP).isPresent() ? idx.u32(CTRL_ATTR_POLICY_DUMP) : dumpIdx;
                }
            }
            Optional<NlAttributes> pol = a.nested(CTRL_ATTR_POLICY);
            if (pol.isPresent()) {
                for (int i = 0; i < pol.get().size(); i++) {
                    int policyIndex = pol.get().typeAt(i);
                    NlAttributes attrs = pol.get().nestedAt(i);
                    Map<Integer, AttributePolicy> byType = policies.computeIfAbsent(policyIndex, k -> new HashMap<>());
                    for (int j = 0; j < attrs.size(); j++) {
                        byType.put(attrs.typeAt(j), AttributePolicy.parse(attrs.nestedAt(j)));
                    }
                }
            }
        }
        return new OpPolicy(cmd, doIdx, dumpIdx, policies);
    }

    /** The top-level attributes a do request accepts, by type; empty when the op has no do policy. */
    public Map<Integer, AttributePolicy> doAttributes() {
        return doPolicy.isPresent() ? policies.getOrDefault(doPolicy.getAsInt(), Map.of()) : Map.of();
    }

    /** The top-level attributes a dump request accepts, by type. */
    public Map<Integer, AttributePolicy> dumpAttributes() {
        return dumpPolicy.isPresent() ? policies.getOrDefault(dumpPolicy.getAsInt(), Map.of()) : Map.of();
    }

    /** The attributes inside a nest attribute of policy {@code outer}, by type. */
    public Map<Integer, AttributePolicy> nestedAttributes(AttributePolicy outer) {
        return outer.policyIndex().isPresent() ? policies.getOrDefault(outer.policyIndex().getAsInt(), Map.of())
                : Map.of();
    }
}
