package dev.devmem.ffm.emulated;

import java.util.Objects;

/**
 * The immutable configuration of an {@link EmulatedNic}. Every {@code with…} method validates its
 * argument and returns a copy; {@link #defaults()} is the starting point.
 *
 * <table>
 * <caption>Knobs</caption>
 * <tr><th>knob</th><th>default</th><th>kernel counterpart</th></tr>
 * <tr><td>{@link #interfaceName()}</td><td>{@code emu0}</td><td>the netdev name bind-rx targets</td></tr>
 * <tr><td>{@link #rxQueues()}</td><td>4</td><td>{@code real_num_rx_queues}</td></tr>
 * <tr><td>{@link #fragSize()}</td><td>4096</td><td>the rx buffer length (net_iov size, PAGE_SIZE on x86_64)</td></tr>
 * <tr><td>{@link #maxSkbSize()}</td><td>65536</td><td>the largest (GRO) packet the NIC hands the stack</td></tr>
 * <tr><td>{@link #headerSplitFailureRate()}</td><td>0</td><td>packets whose payload starts in the header buffer</td></tr>
 * <tr><td>{@link #headerBufferSize()}</td><td>256</td><td>the header buffer of a header-split rx descriptor</td></tr>
 * <tr><td>{@link #seed()}</td><td>1</td><td>seed of the header-split failure draw (reproducible runs)</td></tr>
 * <tr><td>{@link #flowSteering()}</td><td>{@link FlowSteering#rss()}</td><td>RSS indirection and ntuple rules</td></tr>
 * <tr><td>{@link #netmemTx()}</td><td>true</td><td>the driver's opt-in to devmem TX ({@code netmem_tx})</td></tr>
 * </table>
 */
public final class EmulatedNicConfig {
    /** {@code MAX_SKB_FRAGS} of a default kernel build: an skb never has more frags. */
    public static final int MAX_SKB_FRAGS = 17;
    /** The smallest and largest frag (rx buffer) sizes accepted. */
    public static final int MIN_FRAG_SIZE = 16;
    public static final int MAX_FRAG_SIZE = 1 << 20;

    private static final EmulatedNicConfig DEFAULTS =
            new EmulatedNicConfig("emu0", 4, 4096, 65536, 0.0, 256, 1L, FlowSteering.rss(), true);

    private final String interfaceName;
    private final int rxQueues;
    private final int fragSize;
    private final int maxSkbSize;
    private final double headerSplitFailureRate;
    private final int headerBufferSize;
    private final long seed;
    private final FlowSteering flowSteering;
    private final boolean netmemTx;

    private EmulatedNicConfig(String interfaceName, int rxQueues, int fragSize, int maxSkbSize,
                              double headerSplitFailureRate, int headerBufferSize, long seed,
                              FlowSteering flowSteering, boolean netmemTx) {
        this.interfaceName = interfaceName;
        this.rxQueues = rxQueues;
        this.fragSize = fragSize;
        this.maxSkbSize = maxSkbSize;
        this.headerSplitFailureRate = headerSplitFailureRate;
        this.headerBufferSize = headerBufferSize;
        this.seed = seed;
        this.flowSteering = flowSteering;
        this.netmemTx = netmemTx;
    }

    /** The defaults: {@code emu0}, 4 rx queues, 4096-byte frags, 64 KiB skbs, no header-split failures, RSS. */
    public static EmulatedNicConfig defaults() {
        return DEFAULTS;
    }

    /** The interface name {@code RxBindingSpec}s must name (1 to 15 characters, like IFNAMSIZ allows). */
    public EmulatedNicConfig withInterfaceName(String name) {
        Objects.requireNonNull(name, "name");
        if (name.isEmpty() || name.length() > 15 || name.chars().anyMatch(c -> c <= ' ' || c == '/' || c == ':')) {
            throw new IllegalArgumentException("not a valid interface name: '" + name + "'");
        }
        return new EmulatedNicConfig(name, rxQueues, fragSize, maxSkbSize, headerSplitFailureRate, headerBufferSize,
                seed, flowSteering, netmemTx);
    }

    /** The number of rx queues, 1 to 1024. */
    public EmulatedNicConfig withRxQueues(int count) {
        if (count < 1 || count > 1024) {
            throw new IllegalArgumentException("rx queue count must be in [1, 1024], was " + count);
        }
        return new EmulatedNicConfig(interfaceName, count, fragSize, maxSkbSize, headerSplitFailureRate,
                headerBufferSize, seed, flowSteering, netmemTx);
    }

    /**
     * The size of one rx buffer in the dmabuf: a DMABUF frag never crosses one and is at most this
     * long. A power of two in [{@value #MIN_FRAG_SIZE}, {@value #MAX_FRAG_SIZE}]; the kernel's is PAGE_SIZE.
     */
    public EmulatedNicConfig withFragSize(int size) {
        if (size < MIN_FRAG_SIZE || size > MAX_FRAG_SIZE || Integer.bitCount(size) != 1) {
            throw new IllegalArgumentException("frag size must be a power of two in [" + MIN_FRAG_SIZE + ", "
                    + MAX_FRAG_SIZE + "], was " + size);
        }
        return new EmulatedNicConfig(interfaceName, rxQueues, size, maxSkbSize, headerSplitFailureRate,
                headerBufferSize, seed, flowSteering, netmemTx);
    }

    /**
     * The most payload bytes one emulated packet (skb) carries, 1 to 16 MiB. One read of the real
     * socket makes one skb; it is further capped at {@value #MAX_SKB_FRAGS} frags.
     */
    public EmulatedNicConfig withMaxSkbSize(int size) {
        if (size < 1 || size > (16 << 20)) {
            throw new IllegalArgumentException("max skb size must be in [1, 16 MiB], was " + size);
        }
        return new EmulatedNicConfig(interfaceName, rxQueues, fragSize, size, headerSplitFailureRate,
                headerBufferSize, seed, flowSteering, netmemTx);
    }

    /**
     * The fraction of packets, in [0, 1], whose header split "fails": the first
     * {@link #headerBufferSize()} payload bytes land in the skb's linear (host) area and come back as
     * an {@code SCM_DEVMEM_LINEAR} cmsg with the bytes in the caller's iov. The draw is seeded.
     */
    public EmulatedNicConfig withHeaderSplitFailures(double rate, long seed) {
        if (!(rate >= 0.0 && rate <= 1.0)) {
            throw new IllegalArgumentException("header split failure rate must be in [0, 1], was " + rate);
        }
        return new EmulatedNicConfig(interfaceName, rxQueues, fragSize, maxSkbSize, rate, headerBufferSize,
                seed, flowSteering, netmemTx);
    }

    /** The header buffer of an rx descriptor, 1 to 64 KiB: how much payload a failed split puts in the linear area. */
    public EmulatedNicConfig withHeaderBufferSize(int size) {
        if (size < 1 || size > 65536) {
            throw new IllegalArgumentException("header buffer size must be in [1, 65536], was " + size);
        }
        return new EmulatedNicConfig(interfaceName, rxQueues, fragSize, maxSkbSize, headerSplitFailureRate,
                size, seed, flowSteering, netmemTx);
    }

    /** How flows are spread over rx queues. */
    public EmulatedNicConfig withFlowSteering(FlowSteering steering) {
        Objects.requireNonNull(steering, "steering");
        return new EmulatedNicConfig(interfaceName, rxQueues, fragSize, maxSkbSize, headerSplitFailureRate,
                headerBufferSize, seed, steering, netmemTx);
    }

    /**
     * Whether the driver opted into devmem TX ({@code netdev->netmem_tx}). Without it bind-tx fails as
     * on lo and veth: EOPNOTSUPP "Driver does not support netmem TX". Default true.
     */
    public EmulatedNicConfig withNetmemTx(boolean supported) {
        return new EmulatedNicConfig(interfaceName, rxQueues, fragSize, maxSkbSize, headerSplitFailureRate,
                headerBufferSize, seed, flowSteering, supported);
    }

    public boolean netmemTx() {
        return netmemTx;
    }

    public String interfaceName() {
        return interfaceName;
    }

    public int rxQueues() {
        return rxQueues;
    }

    public int fragSize() {
        return fragSize;
    }

    public int maxSkbSize() {
        return maxSkbSize;
    }

    public double headerSplitFailureRate() {
        return headerSplitFailureRate;
    }

    public int headerBufferSize() {
        return headerBufferSize;
    }

    public long seed() {
        return seed;
    }

    public FlowSteering flowSteering() {
        return flowSteering;
    }

    @Override
    public String toString() {
        return "EmulatedNicConfig[interface=" + interfaceName + ", rxQueues=" + rxQueues + ", fragSize=" + fragSize
                + ", maxSkbSize=" + maxSkbSize + ", headerSplitFailureRate=" + headerSplitFailureRate
                + ", headerBufferSize=" + headerBufferSize + ", seed=" + seed + ", netmemTx=" + netmemTx + "]";
    }
}
