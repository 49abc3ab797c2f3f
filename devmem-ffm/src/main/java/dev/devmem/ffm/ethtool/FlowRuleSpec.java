package dev.devmem.ffm.ethtool;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * A TCP flow-steering rule to insert: packets to {@code dst:dstPort} (this host), optionally only
 * from {@code src:srcPort} (the peer), go to rx queue {@code queue}. With both source fields it is a
 * 5-tuple rule, with neither a 3-tuple one (protocol, destination address, destination port), which
 * more drivers accept. Every given field is matched exactly (mask all ones).
 *
 * @param location where to put it: a slot number, or {@link #LOC_ANY} to let the driver choose
 */
public record FlowRuleSpec(InetAddress dst, int dstPort, Optional<InetAddress> src, OptionalInt srcPort, int queue,
                           int location) {

    /** {@code RX_CLS_LOC_ANY}: the driver picks a free slot and reports it. */
    public static final int LOC_ANY = 0xFFFF_FFFF;
    /** {@code RX_CLS_LOC_FIRST}: the first free slot. */
    public static final int LOC_FIRST = 0xFFFF_FFFE;
    /** {@code RX_CLS_LOC_LAST}: the last free slot. */
    public static final int LOC_LAST = 0xFFFF_FFFD;

    public FlowRuleSpec {
        Objects.requireNonNull(dst, "dst");
        Objects.requireNonNull(src, "src");
        Objects.requireNonNull(srcPort, "srcPort");
        checkPort(dstPort, "dstPort");
        srcPort.ifPresent(p -> checkPort(p, "srcPort"));
        if (src.isPresent() && src.get().getClass() != dst.getClass()) {
            throw new IllegalArgumentException("src " + src.get() + " and dst " + dst + " are of different IP versions");
        }
        if (queue < 0) {
            throw new IllegalArgumentException("queue must be >= 0, was " + queue);
        }
    }

    private static void checkPort(int port, String what) {
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException(what + " must be 1..65535, was " + port);
        }
    }

    /** A 3-tuple TCP rule: to {@code dst:dstPort}, any source, at a slot the driver picks. */
    public static FlowRuleSpec tcp(InetAddress dst, int dstPort, int queue) {
        return new FlowRuleSpec(dst, dstPort, Optional.empty(), OptionalInt.empty(), queue, LOC_ANY);
    }

    /** A 5-tuple TCP rule. */
    public static FlowRuleSpec tcp(InetAddress src, int srcPort, InetAddress dst, int dstPort, int queue) {
        return new FlowRuleSpec(dst, dstPort, Optional.of(src), OptionalInt.of(srcPort), queue, LOC_ANY);
    }

    public FlowType flowType() {
        return dst instanceof Inet6Address ? FlowType.TCP_V6 : FlowType.TCP_V4;
    }

    /** Whether the rule names the source address and port (a 5-tuple). */
    public boolean fiveTuple() {
        return src.isPresent() && srcPort.isPresent();
    }

    /** The 3-tuple form of this rule (source fields dropped); ncdevmem falls back to it. */
    public FlowRuleSpec threeTuple() {
        return new FlowRuleSpec(dst, dstPort, Optional.empty(), OptionalInt.empty(), queue, location);
    }

    public FlowRuleSpec atLocation(int newLocation) {
        return new FlowRuleSpec(dst, dstPort, src, srcPort, queue, newLocation);
    }

    /** Like ethtool -N: {@code flow-type tcp4 src-ip A src-port P dst-ip B dst-port Q queue N}. */
    public String describe() {
        StringBuilder sb = new StringBuilder("flow-type ").append(flowType().label());
        src.ifPresent(a -> sb.append(" src-ip ").append(a.getHostAddress()));
        srcPort.ifPresent(p -> sb.append(" src-port ").append(p));
        sb.append(" dst-ip ").append(dst.getHostAddress()).append(" dst-port ").append(dstPort);
        return sb.append(" queue ").append(queue).toString();
    }

    static boolean isV4(InetAddress a) {
        return a instanceof Inet4Address;
    }
}
