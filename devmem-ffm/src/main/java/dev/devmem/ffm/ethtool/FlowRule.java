package dev.devmem.ffm.ethtool;

import java.net.InetAddress;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * A flow-steering rule as the driver reports it ({@code ETHTOOL_GRXCLSRULE}, {@code ethtool -n}).
 * The match fields are decoded for TCP/UDP/SCTP over IPv4 and IPv6; a field whose mask is zero is
 * "any" and reported empty. Addresses and ports are as a received packet carries them: {@code src}
 * is the remote peer, {@code dst} this host.
 *
 * @param flowTypeWord the raw {@code flow_type}, flags included
 * @param type         the decoded type; empty for a type whose fields this library does not read
 * @param ringCookie   the raw action: the queue in the low 32 bits (a VF in bits 32..39), or
 *                     {@code RX_CLS_FLOW_DISC} ({@code ~0}) to drop
 * @param rssContext   the RSS context the rule spreads over, when {@code FLOW_RSS} is set
 */
public record FlowRule(String ifname, int location, int flowTypeWord, Optional<FlowType> type,
                       Optional<InetAddress> src, Optional<InetAddress> dst, OptionalInt srcPort, OptionalInt dstPort,
                       long ringCookie, OptionalInt rssContext) {

    /** {@code RX_CLS_FLOW_DISC}: drop matching packets. */
    public static final long RX_CLS_FLOW_DISC = 0xFFFF_FFFF_FFFF_FFFFL;

    /** The rx queue matching packets go to; empty when the rule drops them. */
    public OptionalInt queue() {
        return ringCookie == RX_CLS_FLOW_DISC ? OptionalInt.empty() : OptionalInt.of((int) ringCookie);
    }

    /** Whether this rule matches exactly what {@code spec} asks for, on the same queue. */
    public boolean matches(FlowRuleSpec spec) {
        return type.filter(spec.flowType()::equals).isPresent()
                && dst.equals(Optional.of(spec.dst()))
                && dstPort.equals(OptionalInt.of(spec.dstPort()))
                && src.equals(spec.src())
                && srcPort.equals(spec.srcPort())
                && queue().equals(OptionalInt.of(spec.queue()));
    }

    /** Like ethtool: {@code tcp4 src 10.0.0.2:5000 dst 10.0.0.1:5201 -> queue 2 @ 1023}. */
    public String describe() {
        StringBuilder sb = new StringBuilder(type.map(FlowType::label)
                .orElse("flow-type 0x" + Integer.toHexString(flowTypeWord)));
        if (src.isPresent() || srcPort.isPresent()) {
            sb.append(" src ").append(src.map(InetAddress::getHostAddress).orElse("*"))
                    .append(':').append(srcPort.isPresent() ? Integer.toString(srcPort.getAsInt()) : "*");
        }
        sb.append(" dst ").append(dst.map(InetAddress::getHostAddress).orElse("*"))
                .append(':').append(dstPort.isPresent() ? Integer.toString(dstPort.getAsInt()) : "*");
        sb.append(queue().isPresent() ? " -> queue " + queue().getAsInt() : " -> drop");
        return sb.append(" @ ").append(Integer.toUnsignedString(location)).toString();
    }
}
