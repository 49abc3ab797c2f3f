package dev.devmem.ffm.nicsetup;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * What {@link DevmemNicSetup#apply} prepares: an interface for devmem RX on some of its queues.
 * Immutable; each {@code with...} returns a copy.
 *
 * @param ifname       the interface, in the network namespace of the thread that applies the setup
 * @param devmemQueues the rx queues that will be bound to a dmabuf; the flow rule points at the lowest
 * @param flow         the connection to steer to the devmem queue; none: no flow rule (the caller
 *                     steers some other way)
 * @param isolateRss   spread ordinary (hashed) traffic over the queues below the lowest devmem queue
 *                     only, as ncdevmem does with {@code ethtool -X IF equal N}
 * @param stateDir     where the setup is recorded while in place ({@code /run/devmem} by default)
 */
public record NicSetupSpec(String ifname, List<Integer> devmemQueues, Optional<DevmemFlow> flow, boolean isolateRss,
                           Path stateDir) {

    public NicSetupSpec {
        Objects.requireNonNull(ifname, "ifname");
        devmemQueues = List.copyOf(Objects.requireNonNull(devmemQueues, "devmemQueues"));
        Objects.requireNonNull(flow, "flow");
        Objects.requireNonNull(stateDir, "stateDir");
        if (ifname.isEmpty() || ifname.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > 15
                || ifname.contains("/")) {
            throw new IllegalArgumentException("not an interface name: \"" + ifname + "\"");
        }
        if (devmemQueues.isEmpty()) {
            throw new IllegalArgumentException("at least one devmem rx queue is needed");
        }
        if (devmemQueues.stream().distinct().count() != devmemQueues.size() || devmemQueues.stream().anyMatch(q -> q < 0)) {
            throw new IllegalArgumentException("devmem queues must be distinct and >= 0: " + devmemQueues);
        }
        if (isolateRss && firstQueue(devmemQueues) == 0) {
            throw new IllegalArgumentException("with RSS isolation the devmem queues must leave queue 0 to ordinary "
                    + "traffic (RSS spreads over the queues below the lowest devmem queue): " + devmemQueues);
        }
    }

    /** Devmem on {@code devmemQueues} of {@code ifname}, RSS isolated, no flow rule, state under /run/devmem. */
    public static NicSetupSpec of(String ifname, List<Integer> devmemQueues) {
        return new NicSetupSpec(ifname, devmemQueues, Optional.empty(), true, DevmemNicSetup.DEFAULT_STATE_DIR);
    }

    public NicSetupSpec withFlow(DevmemFlow newFlow) {
        return new NicSetupSpec(ifname, devmemQueues, Optional.of(newFlow), isolateRss, stateDir);
    }

    public NicSetupSpec withRssIsolation(boolean isolate) {
        return new NicSetupSpec(ifname, devmemQueues, flow, isolate, stateDir);
    }

    public NicSetupSpec withStateDir(Path dir) {
        return new NicSetupSpec(ifname, devmemQueues, flow, isolateRss, dir);
    }

    /** The lowest devmem queue: the flow rule's target, and where RSS stops. */
    public int firstDevmemQueue() {
        return firstQueue(devmemQueues);
    }

    private static int firstQueue(List<Integer> queues) {
        return queues.stream().mapToInt(Integer::intValue).min().orElseThrow();
    }
}
