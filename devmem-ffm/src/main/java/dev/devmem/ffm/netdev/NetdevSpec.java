package dev.devmem.ffm.netdev;

import dev.devmem.ffm.netlink.AttributeSet;

/**
 * The numbers and names of the {@code netdev} generic-netlink family
 * ({@code Documentation/netlink/specs/netdev.yaml}, identical in Linux 6.18 and 6.19). Kept in one
 * place so that a kernel change is one edit; the names are what error messages show.
 */
public final class NetdevSpec {
    private NetdevSpec() {
    }

    public static final String FAMILY = "netdev";
    public static final String GROUP_MGMT = "mgmt";
    public static final String GROUP_PAGE_POOL = "page-pool";

    // commands
    public static final int CMD_DEV_GET = 1;
    public static final int CMD_DEV_ADD_NTF = 2;
    public static final int CMD_DEV_DEL_NTF = 3;
    public static final int CMD_DEV_CHANGE_NTF = 4;
    public static final int CMD_PAGE_POOL_GET = 5;
    public static final int CMD_PAGE_POOL_ADD_NTF = 6;
    public static final int CMD_PAGE_POOL_DEL_NTF = 7;
    public static final int CMD_PAGE_POOL_CHANGE_NTF = 8;
    public static final int CMD_PAGE_POOL_STATS_GET = 9;
    public static final int CMD_QUEUE_GET = 10;
    public static final int CMD_NAPI_GET = 11;
    public static final int CMD_QSTATS_GET = 12;
    public static final int CMD_BIND_RX = 13;
    public static final int CMD_NAPI_SET = 14;
    public static final int CMD_BIND_TX = 15;

    // dev
    public static final int DEV_IFINDEX = 1;
    public static final int DEV_XDP_FEATURES = 3;
    public static final int DEV_XDP_ZC_MAX_SEGS = 4;
    public static final int DEV_XDP_RX_METADATA_FEATURES = 5;
    public static final int DEV_XSK_FEATURES = 6;

    // page-pool
    public static final int PAGE_POOL_ID = 1;
    public static final int PAGE_POOL_IFINDEX = 2;
    public static final int PAGE_POOL_NAPI_ID = 3;
    public static final int PAGE_POOL_INFLIGHT = 4;
    public static final int PAGE_POOL_INFLIGHT_MEM = 5;
    public static final int PAGE_POOL_DETACH_TIME = 6;
    public static final int PAGE_POOL_DMABUF = 7;
    public static final int PAGE_POOL_IO_URING = 8;

    // napi
    public static final int NAPI_IFINDEX = 1;
    public static final int NAPI_ID = 2;
    public static final int NAPI_IRQ = 3;
    public static final int NAPI_PID = 4;
    public static final int NAPI_DEFER_HARD_IRQS = 5;
    public static final int NAPI_GRO_FLUSH_TIMEOUT = 6;
    public static final int NAPI_IRQ_SUSPEND_TIMEOUT = 7;
    public static final int NAPI_THREADED = 8;

    // queue
    public static final int QUEUE_ID = 1;
    public static final int QUEUE_IFINDEX = 2;
    public static final int QUEUE_TYPE = 3;
    public static final int QUEUE_NAPI_ID = 4;
    public static final int QUEUE_DMABUF = 5;
    public static final int QUEUE_IO_URING = 6;
    public static final int QUEUE_XSK = 7;

    // qstats
    public static final int QSTATS_IFINDEX = 1;
    public static final int QSTATS_QUEUE_TYPE = 2;
    public static final int QSTATS_QUEUE_ID = 3;
    public static final int QSTATS_SCOPE = 4;
    /** The first counter attribute; counters run from here to {@link #QSTATS_COUNTERS}{@code .length + 7}. */
    public static final int QSTATS_FIRST_COUNTER = 8;
    /** Counter names by attribute id minus {@link #QSTATS_FIRST_COUNTER}. */
    static final String[] QSTATS_COUNTERS = {
        "rx-packets", "rx-bytes", "tx-packets", "tx-bytes", "rx-alloc-fail", "rx-hw-drops",
        "rx-hw-drop-overruns", "rx-csum-complete", "rx-csum-unnecessary", "rx-csum-none", "rx-csum-bad",
        "rx-hw-gro-packets", "rx-hw-gro-bytes", "rx-hw-gro-wire-packets", "rx-hw-gro-wire-bytes",
        "rx-hw-drop-ratelimits", "tx-hw-drops", "tx-hw-drop-errors", "tx-csum-none", "tx-needs-csum",
        "tx-hw-gso-packets", "tx-hw-gso-bytes", "tx-hw-gso-wire-packets", "tx-hw-gso-wire-bytes",
        "tx-hw-drop-ratelimits", "tx-stop", "tx-wake",
    };
    /** qstats-scope flag: one answer per queue rather than per device. */
    public static final int QSTATS_SCOPE_QUEUE = 1;

    // dmabuf (bind-rx, bind-tx)
    public static final int DMABUF_IFINDEX = 1;
    public static final int DMABUF_QUEUES = 2;
    public static final int DMABUF_FD = 3;
    public static final int DMABUF_ID = 4;

    public static final AttributeSet DEV = AttributeSet.named("dev")
            .attr(DEV_IFINDEX, "ifindex").attr(2, "pad").attr(DEV_XDP_FEATURES, "xdp-features")
            .attr(DEV_XDP_ZC_MAX_SEGS, "xdp-zc-max-segs")
            .attr(DEV_XDP_RX_METADATA_FEATURES, "xdp-rx-metadata-features")
            .attr(DEV_XSK_FEATURES, "xsk-features")
            .build();

    public static final AttributeSet PAGE_POOL = AttributeSet.named("page-pool")
            .attr(PAGE_POOL_ID, "id").attr(PAGE_POOL_IFINDEX, "ifindex").attr(PAGE_POOL_NAPI_ID, "napi-id")
            .attr(PAGE_POOL_INFLIGHT, "inflight").attr(PAGE_POOL_INFLIGHT_MEM, "inflight-mem")
            .attr(PAGE_POOL_DETACH_TIME, "detach-time").attr(PAGE_POOL_DMABUF, "dmabuf")
            .attr(PAGE_POOL_IO_URING, "io-uring")
            .build();

    public static final AttributeSet NAPI = AttributeSet.named("napi")
            .attr(NAPI_IFINDEX, "ifindex").attr(NAPI_ID, "id").attr(NAPI_IRQ, "irq").attr(NAPI_PID, "pid")
            .attr(NAPI_DEFER_HARD_IRQS, "defer-hard-irqs").attr(NAPI_GRO_FLUSH_TIMEOUT, "gro-flush-timeout")
            .attr(NAPI_IRQ_SUSPEND_TIMEOUT, "irq-suspend-timeout").attr(NAPI_THREADED, "threaded")
            .build();

    public static final AttributeSet QUEUE = AttributeSet.named("queue")
            .attr(QUEUE_ID, "id").attr(QUEUE_IFINDEX, "ifindex").attr(QUEUE_TYPE, "type")
            .attr(QUEUE_NAPI_ID, "napi-id").attr(QUEUE_DMABUF, "dmabuf").attr(QUEUE_IO_URING, "io-uring")
            .attr(QUEUE_XSK, "xsk")
            .build();

    public static final AttributeSet QSTATS;

    static {
        AttributeSet.Builder b = AttributeSet.named("qstats")
                .attr(QSTATS_IFINDEX, "ifindex").attr(QSTATS_QUEUE_TYPE, "queue-type")
                .attr(QSTATS_QUEUE_ID, "queue-id").attr(QSTATS_SCOPE, "scope");
        for (int i = 0; i < QSTATS_COUNTERS.length; i++) {
            b.attr(QSTATS_FIRST_COUNTER + i, QSTATS_COUNTERS[i]);
        }
        QSTATS = b.build();
    }

    /** The {@code queue-id} subset of {@code queue} that a bind-rx {@code queues} nest holds. */
    public static final AttributeSet QUEUE_ID_SET = AttributeSet.named("queue-id")
            .attr(QUEUE_ID, "id").attr(QUEUE_TYPE, "type")
            .build();

    public static final AttributeSet DMABUF = AttributeSet.named("dmabuf")
            .attr(DMABUF_IFINDEX, "ifindex").nest(DMABUF_QUEUES, "queues", QUEUE_ID_SET)
            .attr(DMABUF_FD, "fd").attr(DMABUF_ID, "id")
            .build();
}
