package dev.devmem.ffm.ethtool;

import java.util.Optional;

/**
 * The flow types of {@code struct ethtool_rx_flow_spec} whose match fields this library reads:
 * the TCP/UDP/SCTP ones, which share {@code struct ethtool_tcpip4_spec} / {@code tcpip6_spec}.
 */
public enum FlowType {
    TCP_V4(0x01, 4, "tcp4"),
    UDP_V4(0x02, 4, "udp4"),
    SCTP_V4(0x03, 4, "sctp4"),
    TCP_V6(0x05, 6, "tcp6"),
    UDP_V6(0x06, 6, "udp6"),
    SCTP_V6(0x07, 6, "sctp6");

    /** {@code FLOW_EXT}: h_ext/m_ext are valid. */
    public static final int FLOW_EXT = 0x8000_0000;
    /** {@code FLOW_MAC_EXT}: the destination MAC in h_ext is valid. */
    public static final int FLOW_MAC_EXT = 0x4000_0000;
    /** {@code FLOW_RSS}: spread over an RSS context instead of one queue. */
    public static final int FLOW_RSS = 0x2000_0000;

    private final int value;
    private final int ipVersion;
    private final String label;

    FlowType(int value, int ipVersion, String label) {
        this.value = value;
        this.ipVersion = ipVersion;
        this.label = label;
    }

    public int value() {
        return value;
    }

    public int ipVersion() {
        return ipVersion;
    }

    /** As ethtool names it: {@code tcp4}, {@code tcp6}, ... */
    public String label() {
        return label;
    }

    /** The type of a {@code flow_type} word, flag bits ignored; empty for types without these fields. */
    public static Optional<FlowType> of(int flowType) {
        int base = flowType & ~(FLOW_EXT | FLOW_MAC_EXT | FLOW_RSS);
        for (FlowType t : values()) {
            if (t.value == base) {
                return Optional.of(t);
            }
        }
        return Optional.empty();
    }
}
