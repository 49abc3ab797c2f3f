package dev.devmem.cli;

import java.util.List;

/**
 * What {@code devmem doctor} found, as plain records that Jackson writes as the documented JSON
 * (docs/doctor.md, schema {@value #SCHEMA}). Fields that a probe could not fill are {@code null},
 * never left out, so the shape is stable.
 */
public record DoctorReport(String schema, String kernel, Netns netns, boolean capNetAdmin, NetdevFamily netdevFamily,
                           EthtoolFamily ethtoolFamily, String devmemSocketOptions, Exporters dmabufExporters,
                           int pagePools, List<NicSetupState> nicSetupState, List<Iface> interfaces) {

    public static final String SCHEMA = "devmem-doctor/1";

    /**
     * @param name    as {@code ip netns} knows it (a bind mount under /run/netns), or null
     * @param inode   the namespace's inode ({@code /proc/thread-self/ns/net})
     * @param initial whether it is the initial namespace (PID 1's); null when that cannot be read
     */
    public record Netns(String name, long inode, Boolean initial) {
    }

    /** @param ops the command ids the kernel registered; {@code bindRx} = op 13, {@code bindTx} = op 15 */
    public record NetdevFamily(boolean present, Integer id, List<Integer> ops, boolean bindRx, boolean bindTx,
                               String error) {
    }

    /** @param rssSet RSS configuration over netlink (op 48, Linux 6.17+) */
    public record EthtoolFamily(boolean present, Integer id, boolean rssSet, String error) {
    }

    public record Exporters(Exporter udmabuf, List<String> dmaHeaps, Exporter cuda) {
    }

    public record Exporter(boolean available, String detail) {
    }

    /** A NIC setup recorded under /run/devmem for this namespace; {@code ownerAlive} false means a leftover. */
    public record NicSetupState(String ifname, long pid, boolean ownerAlive, String since, List<String> changes,
                                String file) {
    }

    /**
     * One interface.
     *
     * @param notes things that do not decide the verdict but matter for a setup (ntuple, RSS)
     */
    public record Iface(String name, int ifindex, Driver driver, Queues queues, HeaderSplit headerSplit, Ntuple ntuple,
                        Rss rss, List<Long> pagePools, List<Binding> bindings, Verdict rx, Verdict tx,
                        List<String> notes) {
    }

    /** From ETHTOOL_GDRVINFO; {@code error} holds the refusal (lo has no driver). */
    public record Driver(String name, String version, String firmwareVersion, String busInfo, String error) {
    }

    /** Queues in use, from netdev queue-get ({@code real_num_*_queues}). */
    public record Queues(int rx, int tx) {
    }

    /**
     * From ethtool rings-get.
     *
     * @param supported    the driver reports ring parameters and a tcp-data-split state
     * @param tcpDataSplit {@code unknown}, {@code disabled}, {@code enabled}, or null when not reported
     * @param evidence     the kernel's refusal, when rings-get was refused
     */
    public record HeaderSplit(boolean supported, String tcpDataSplit, Long hdsThresh, Long hdsThreshMax,
                              String evidence) {
    }

    /** The {@code rx-ntuple-filter} feature (flow steering). */
    public record Ntuple(Boolean active, Boolean fixed, String evidence) {
    }

    /** The main RSS context's indirection table, or why there is none. */
    public record Rss(boolean supported, List<Integer> indirection, String evidence) {
    }

    /** A queue bound to a dmabuf (queue-get's {@code dmabuf} attribute). */
    public record Binding(String type, int queue, int dmabuf) {
    }

    /**
     * Whether devmem would work on this interface right now.
     *
     * @param verdict  {@code yes} or {@code no}
     * @param reason   why, in one sentence
     * @param fix      what to do about a {@code no}; null for {@code yes}
     * @param evidence the kernel's answer to the probe it is based on
     */
    public record Verdict(String verdict, String reason, String fix, String evidence) {
        static Verdict yes(String reason, String evidence) {
            return new Verdict("yes", reason, null, evidence);
        }

        static Verdict no(String reason, String fix, String evidence) {
            return new Verdict("no", reason, fix, evidence);
        }
    }
}
