package dev.devmem.ffm.nicsetup;

import dev.devmem.ffm.ethtool.FlowRuleSpec;

import java.net.InetAddress;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * The TCP connection(s) whose payload should land in devmem: this host's address and port, and
 * optionally the peer's. With the peer's address and port the flow rule is a 5-tuple; ncdevmem falls
 * back to a 3-tuple (destination address and port) when the driver refuses one, and so does the setup.
 */
public record DevmemFlow(InetAddress localAddress, int localPort, Optional<InetAddress> remoteAddress,
                         OptionalInt remotePort) {

    public DevmemFlow {
        Objects.requireNonNull(localAddress, "localAddress");
        Objects.requireNonNull(remoteAddress, "remoteAddress");
        Objects.requireNonNull(remotePort, "remotePort");
        // FlowRuleSpec checks ports and address families
        new FlowRuleSpec(localAddress, localPort, remoteAddress, remotePort, 0, FlowRuleSpec.LOC_ANY);
    }

    /** Any peer, to {@code localAddress:localPort}. */
    public static DevmemFlow to(InetAddress localAddress, int localPort) {
        return new DevmemFlow(localAddress, localPort, Optional.empty(), OptionalInt.empty());
    }

    /** One peer's connection: {@code remoteAddress:remotePort} to {@code localAddress:localPort}. */
    public static DevmemFlow between(InetAddress localAddress, int localPort, InetAddress remoteAddress, int remotePort) {
        return new DevmemFlow(localAddress, localPort, Optional.of(remoteAddress), OptionalInt.of(remotePort));
    }

    /** The rule steering this flow to {@code queue}, as the NIC sees the packets (peer = source). */
    public FlowRuleSpec ruleTo(int queue) {
        return new FlowRuleSpec(localAddress, localPort, remoteAddress, remotePort, queue, FlowRuleSpec.LOC_ANY);
    }
}
