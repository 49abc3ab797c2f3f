package dev.devmem.gateway;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Objects;

/**
 * How the gateway receives: where it listens for flows and serves HTTP, the emulated NIC's dmabuf
 * and frag size, each flow's token budget (the most frags a flow holds before the receiver stops
 * reading), how many flows are stored at once, and the sync policy.
 *
 * @param listen      where devmem flows connect
 * @param http        where objects are served, or null for no HTTP server
 * @param dmabufSize  bytes of the emulated NIC's dmabuf, shared by all flows
 * @param fragSize    the NIC's rx buffer size
 * @param tokenBudget frags one flow may hold; 0 derives it from the dmabuf (see DevmemReceiver)
 * @param maxFlows    flows stored concurrently; further connections wait in the listen backlog
 * @param ioThreads   receive loop threads
 * @param sync        when bytes are made durable
 * @param headerSplitFailures fraction of packets the emulated NIC fails to split (their first bytes
 *                    arrive as LINEAR frags in host memory), seeded; 0 by default
 */
public record GatewayConfig(InetSocketAddress listen, InetSocketAddress http, long dmabufSize, int fragSize,
                            int tokenBudget, int maxFlows, int ioThreads, SyncPolicy sync,
                            double headerSplitFailures) {

    public GatewayConfig {
        Objects.requireNonNull(listen, "listen");
        Objects.requireNonNull(sync, "sync");
        if (maxFlows < 1) {
            throw new IllegalArgumentException("maxFlows must be >= 1, was " + maxFlows);
        }
    }

    /** Loopback on free ports, a 64 MiB dmabuf of 4 KiB frags, derived budget, 64 flows, group commit. */
    public static GatewayConfig defaults() {
        InetAddress lo = InetAddress.getLoopbackAddress();
        return new GatewayConfig(new InetSocketAddress(lo, 0), new InetSocketAddress(lo, 0), 64L << 20, 4096, 0, 64, 1,
                SyncPolicy.group(), 0);
    }

    public GatewayConfig withListen(InetSocketAddress a) {
        return new GatewayConfig(a, http, dmabufSize, fragSize, tokenBudget, maxFlows, ioThreads, sync, headerSplitFailures);
    }

    public GatewayConfig withHttp(InetSocketAddress a) {
        return new GatewayConfig(listen, a, dmabufSize, fragSize, tokenBudget, maxFlows, ioThreads, sync, headerSplitFailures);
    }

    public GatewayConfig withDmabuf(long size, int frag) {
        return new GatewayConfig(listen, http, size, frag, tokenBudget, maxFlows, ioThreads, sync, headerSplitFailures);
    }

    public GatewayConfig withTokenBudget(int frags) {
        return new GatewayConfig(listen, http, dmabufSize, fragSize, frags, maxFlows, ioThreads, sync, headerSplitFailures);
    }

    public GatewayConfig withMaxFlows(int n) {
        return new GatewayConfig(listen, http, dmabufSize, fragSize, tokenBudget, n, ioThreads, sync, headerSplitFailures);
    }

    public GatewayConfig withIoThreads(int n) {
        return new GatewayConfig(listen, http, dmabufSize, fragSize, tokenBudget, maxFlows, n, sync, headerSplitFailures);
    }

    public GatewayConfig withHeaderSplitFailures(double rate) {
        return new GatewayConfig(listen, http, dmabufSize, fragSize, tokenBudget, maxFlows, ioThreads, sync, rate);
    }

    public GatewayConfig withSync(SyncPolicy s) {
        return new GatewayConfig(listen, http, dmabufSize, fragSize, tokenBudget, maxFlows, ioThreads, s, headerSplitFailures);
    }
}
