package dev.devmem.cli;

import dev.devmem.api.DevmemException;
import dev.devmem.api.DevmemUnsupportedException;
import dev.devmem.api.Errno;
import dev.devmem.api.NetlinkException;
import dev.devmem.api.SyscallException;
import dev.devmem.cli.DoctorReport.Binding;
import dev.devmem.cli.DoctorReport.Driver;
import dev.devmem.cli.DoctorReport.EthtoolFamily;
import dev.devmem.cli.DoctorReport.Exporter;
import dev.devmem.cli.DoctorReport.Exporters;
import dev.devmem.cli.DoctorReport.HeaderSplit;
import dev.devmem.cli.DoctorReport.Iface;
import dev.devmem.cli.DoctorReport.NetdevFamily;
import dev.devmem.cli.DoctorReport.Netns;
import dev.devmem.cli.DoctorReport.NicSetupState;
import dev.devmem.cli.DoctorReport.Ntuple;
import dev.devmem.cli.DoctorReport.Queues;
import dev.devmem.cli.DoctorReport.Rss;
import dev.devmem.cli.DoctorReport.Verdict;
import dev.devmem.ffm.DevmemDiagnostics;
import dev.devmem.ffm.ethtool.DriverInfo;
import dev.devmem.ffm.ethtool.Ethtool;
import dev.devmem.ffm.ethtool.EthtoolFeatures;
import dev.devmem.ffm.ethtool.EthtoolRings;
import dev.devmem.ffm.ethtool.EthtoolRss;
import dev.devmem.ffm.ethtool.EthtoolSpec;
import dev.devmem.ffm.ethtool.TcpDataSplit;
import dev.devmem.ffm.netdev.Netdev;
import dev.devmem.ffm.netdev.NetdevDevice;
import dev.devmem.ffm.netdev.NetdevPagePool;
import dev.devmem.ffm.netdev.NetdevQueue;
import dev.devmem.ffm.netdev.NetdevSpec;
import dev.devmem.ffm.netdev.QueueType;
import dev.devmem.ffm.nicsetup.DevmemNicSetup;
import dev.devmem.ffm.nicsetup.NicChange;
import dev.devmem.ffm.nicsetup.StaleSetup;

import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * The probes behind {@code devmem doctor}, run in the calling thread's network namespace. Verdicts
 * come from what the kernel answers, never from a list of driver names: bind-rx and bind-tx are
 * tried with a memfd in place of a dma-buf, which no device can bind, so nothing is ever bound; how
 * far the kernel gets before refusing tells what the device can do.
 *
 * <ul>
 * <li>EOPNOTSUPP at {@code dmabuf.ifindex}, no text: the device has no queue-management API;</li>
 * <li>bind-tx's EOPNOTSUPP "Driver does not support netmem TX": no devmem TX in the driver;</li>
 * <li>EINVAL or EBADF about the fd: the device passed every device check and refused only the
 *     memfd: devmem can work, subject to header split (which bind-rx checks after the fd).</li>
 * </ul>
 */
final class DoctorProbe {
    static final String DEVMEM_RX_NICS = "bnxt_en (6.16+), mlx5 (6.17+), gve (6.18+) or fbnic (6.18+)";
    static final String DEVMEM_TX_NICS = "gve (6.16+), bnxt_en or mlx5 (6.17+), or fbnic (6.18+)";

    private DoctorProbe() {
    }

    /** Everything, or only {@code onlyIface}; an unknown {@code onlyIface} is ENODEV. */
    static DoctorReport run(String onlyIface, Path stateDir) throws DevmemException {
        boolean cap = HostFacts.hasCapNetAdmin();
        Netns netns = new Netns(HostFacts.netnsName().orElse(null), HostFacts.netnsInode(), HostFacts.isInitialNetns());
        int only = -1;
        if (onlyIface != null) {
            try {
                only = DevmemDiagnostics.interfaceIndex(onlyIface);
            } catch (SyscallException e) {
                throw new SyscallException("doctor --iface " + onlyIface, e.errno(),
                        "there is no interface " + onlyIface + " in network namespace "
                                + (netns.name() != null ? netns.name() : "net:[" + netns.inode() + "]"));
            }
        }
        Netdev netdev = null;
        NetdevFamily netdevFamily;
        try {
            netdev = Netdev.open();
            var ops = new ArrayList<>(netdev.family().ops().keySet());
            netdevFamily = new NetdevFamily(true, netdev.family().id(), ops, netdev.family().canDo(NetdevSpec.CMD_BIND_RX),
                    netdev.family().canDo(NetdevSpec.CMD_BIND_TX), null);
        } catch (DevmemUnsupportedException e) {
            netdevFamily = new NetdevFamily(false, null, List.of(), false, false, e.getMessage());
        }
        Ethtool ethtool = null;
        EthtoolFamily ethtoolFamily;
        try {
            ethtool = Ethtool.open();
            ethtool.ioctl();
            ethtoolFamily = new EthtoolFamily(true, ethtool.family().id(), ethtool.hasRssSet(), null);
        } catch (DevmemUnsupportedException e) {
            ethtoolFamily = new EthtoolFamily(false, null, false, e.getMessage());
        }
        try {
            List<NetdevPagePool> pools = netdev != null ? netdev.pagePools() : List.of();
            List<Iface> ifaces = new ArrayList<>();
            if (netdev != null) {
                List<NetdevDevice> devices = new ArrayList<>(netdev.devices());
                devices.sort(Comparator.comparingInt(NetdevDevice::ifindex));
                for (NetdevDevice d : devices) {
                    if (only < 0 || d.ifindex() == only) {
                        ifaces.add(iface(netdev, netdevFamily, ethtool, d.ifindex(), pools, cap));
                    }
                }
            }
            return new DoctorReport(DoctorReport.SCHEMA, HostFacts.kernelRelease(), netns, cap, netdevFamily,
                    ethtoolFamily, DoctorCommand.probeDevmemSocketOptions(), exporters(), pools.size(),
                    nicSetupState(stateDir), ifaces);
        } finally {
            if (netdev != null) {
                netdev.close();
            }
            if (ethtool != null) {
                ethtool.close();
            }
        }
    }

    private static Iface iface(Netdev netdev, NetdevFamily family, Ethtool ethtool, int ifindex,
                               List<NetdevPagePool> pools, boolean cap) throws DevmemException {
        String name = DevmemDiagnostics.interfaceName(ifindex).orElse("ifindex" + ifindex);
        List<String> notes = new ArrayList<>();

        Driver driver;
        try {
            DriverInfo d = ethtool.ioctl().driverInfo(name);
            driver = new Driver(d.driver(), d.version(), d.firmwareVersion(), d.busInfo(), null);
        } catch (SyscallException e) {
            driver = new Driver(null, null, null, null, answer(e));
        }

        int rx = 0;
        int tx = 0;
        List<Binding> bindings = new ArrayList<>();
        for (NetdevQueue q : netdev.queues(ifindex)) {
            if (q.type() == QueueType.RX) {
                rx++;
            } else {
                tx++;
            }
            if (q.dmabuf().isPresent()) {
                bindings.add(new Binding(q.type() == QueueType.RX ? "rx" : "tx", q.id(), q.dmabuf().getAsInt()));
            }
        }

        HeaderSplit split;
        Optional<EthtoolRings> rings = Optional.empty();
        try {
            EthtoolRings r = ethtool.rings(name);
            rings = Optional.of(r);
            split = new HeaderSplit(r.tcpDataSplit().isPresent(), r.tcpDataSplit().map(TcpDataSplit::label).orElse(null),
                    r.hdsThresh().isPresent() ? r.hdsThresh().getAsLong() : null,
                    r.hdsThreshMax().isPresent() ? r.hdsThreshMax().getAsLong() : null,
                    r.tcpDataSplit().isPresent() ? null : "rings-get answered without tcp-data-split: the driver reports no header-split state");
        } catch (NetlinkException e) {
            split = new HeaderSplit(false, null, null, null, answer(e));
        }

        Ntuple ntuple;
        try {
            EthtoolFeatures f = ethtool.features(name);
            Optional<EthtoolFeatures.Feature> n = f.feature(EthtoolSpec.FEATURE_NTUPLE);
            ntuple = n.map(x -> new Ntuple(x.active(), x.fixed(), null))
                    .orElse(new Ntuple(null, null, "this kernel has no feature named " + EthtoolSpec.FEATURE_NTUPLE));
        } catch (DevmemException e) {
            ntuple = new Ntuple(null, null, answer(e));
        }
        if (ntuple.active() != null && !ntuple.active()) {
            notes.add(Boolean.TRUE.equals(ntuple.fixed())
                    ? "ntuple filters are fixed off: no flow rule can steer a connection to a devmem queue"
                    : "ntuple filters are off: DevmemNicSetup (or ethtool -K " + name + " ntuple on) switches them on");
        }

        Rss rss;
        try {
            EthtoolRss r = ethtool.rss(name);
            rss = new Rss(!r.indirection().isEmpty(), r.indirection(), r.indirection().isEmpty() ? "no indirection table" : null);
        } catch (DevmemException e) {
            rss = new Rss(false, null, answer(e));
        }

        List<Long> myPools = pools.stream().filter(p -> p.ifindex().isPresent() && p.ifindex().getAsInt() == ifindex)
                .map(NetdevPagePool::id).toList();

        String who = driver.name() != null ? "driver " + driver.name() : name + " (no driver: ETHTOOL_GDRVINFO refused)";
        Probe rxProbe = family.bindRx() ? probe(ifindex, true) : null;
        Probe txProbe = family.bindTx() ? probe(ifindex, false) : null;
        Verdict rxVerdict = rxVerdict(family, rxProbe, name, who, cap, rings, split);
        Verdict txVerdict = txVerdict(family, txProbe, who, cap);
        return new Iface(name, ifindex, driver, new Queues(rx, tx), split, ntuple, rss, myPools, bindings, rxVerdict,
                txVerdict, notes);
    }

    /**
     * The RX verdict from the bind-rx probe's answer ({@code p}, null when the kernel has no bind-rx)
     * and the rings answer: "yes" only when bind-rx would get past every check with a real dma-buf now.
     */
    static Verdict rxVerdict(NetdevFamily family, Probe p, String name, String who, boolean cap,
                             Optional<EthtoolRings> rings, HeaderSplit split) {
        if (!family.present() || !family.bindRx() || p == null) {
            return Verdict.no("this kernel has no netdev bind-rx (op 13)",
                    "devmem RX needs Linux 6.12 or later built with CONFIG_NET_DEVMEM",
                    family.present() ? "netdev family ops: " + family.ops() : family.error());
        }
        if (p.error == null) {
            return Verdict.yes("bind-rx accepted a probe binding (released at once)", p.evidence);
        }
        Errno e = p.error.errno();
        if (e.equals(Errno.EPERM)) {
            return Verdict.no("bind-rx needs CAP_NET_ADMIN" + (cap ? "" : " and this process lacks it"),
                    "run as root or grant CAP_NET_ADMIN (e.g. setcap cap_net_admin+ep on the java binary)", p.evidence);
        }
        if (e.equals(Errno.EOPNOTSUPP) && p.error.extackMessage().isEmpty()
                && p.error.offendingAttribute().filter("dmabuf.ifindex"::equals).isPresent()) {
            return Verdict.no(who + " has no netdev queue-management API (bind-rx answers EOPNOTSUPP)",
                    "devmem needs a NIC such as " + DEVMEM_RX_NICS, p.evidence);
        }
        if (!(e.equals(Errno.EINVAL) || e.equals(Errno.EBADF)) || p.error.offendingAttribute().filter("dmabuf.ifindex"::equals).isPresent()) {
            return Verdict.no("bind-rx refused the device: " + p.error.extackMessage().orElse(e.name()),
                    "see the kernel's answer; docs/doctor.md lists the bind-rx checks", p.evidence);
        }
        // The device passed the queue-API and DMA checks; only the memfd was refused. What bind-rx checks
        // after the fd is header split: tcp-data-split must be enabled and hds-thresh 0.
        if (rings.isEmpty() || !split.supported()) {
            return Verdict.no(who + " does not report header split (tcp-data-split), which bind-rx requires",
                    "a driver with header split (ethtool -G " + name + " tcp-data-split on); devmem NICs: " + DEVMEM_RX_NICS,
                    p.evidence + "; " + (split.evidence() != null ? split.evidence() : "rings-get has no tcp-data-split"));
        }
        if (!rings.get().readyForDevmem()) {
            return Verdict.no("header split is not ready: tcp-data-split " + split.tcpDataSplit() + ", hds-thresh "
                            + (split.hdsThresh() == null ? "not reported" : split.hdsThresh())
                            + " (bind-rx needs tcp-data-split enabled and hds-thresh 0)",
                    "ethtool -G " + name + " tcp-data-split on hds-thresh 0, or let DevmemNicSetup apply it (and undo it after)",
                    p.evidence + "; rings-get: tcp-data-split " + split.tcpDataSplit() + ", hds-thresh " + split.hdsThresh());
        }
        return Verdict.yes("the device passed bind-rx's device checks (only the probe's memfd was refused) and header "
                + "split is enabled with hds-thresh 0", p.evidence);
    }

    /** The TX verdict from the bind-tx probe's answer ({@code p}, null when the kernel has no bind-tx). */
    static Verdict txVerdict(NetdevFamily family, Probe p, String who, boolean cap) {
        if (!family.present() || !family.bindTx() || p == null) {
            return Verdict.no("this kernel has no netdev bind-tx (op 15)", "devmem TX needs Linux 6.16 or later",
                    family.present() ? "netdev family ops: " + family.ops() : family.error());
        }
        if (p.error == null) {
            return Verdict.yes("bind-tx accepted a probe binding (released at once)", p.evidence);
        }
        Errno e = p.error.errno();
        if (e.equals(Errno.EPERM)) {
            return Verdict.no("bind-tx was refused for lack of privilege" + (cap ? "" : " (no CAP_NET_ADMIN)"),
                    "run as root or grant CAP_NET_ADMIN", p.evidence);
        }
        if (e.equals(Errno.EOPNOTSUPP) && p.error.extackMessage().filter(m -> m.contains("netmem TX")).isPresent()) {
            return Verdict.no(who + " does not support netmem TX (bind-tx answers EOPNOTSUPP \""
                            + p.error.extackMessage().get() + "\")",
                    "devmem TX needs a NIC such as " + DEVMEM_TX_NICS, p.evidence);
        }
        if (e.equals(Errno.EOPNOTSUPP) && p.error.extackMessage().isEmpty()) {
            return Verdict.no(who + " has no netdev queue-management API (bind-tx answers EOPNOTSUPP)",
                    "devmem TX needs a NIC such as " + DEVMEM_TX_NICS, p.evidence);
        }
        if (e.equals(Errno.EINVAL) || e.equals(Errno.EBADF)) {
            return Verdict.yes("the device passed bind-tx's device checks (only the probe's memfd was refused)", p.evidence);
        }
        return Verdict.no("bind-tx refused the device: " + p.error.extackMessage().orElse(e.name()),
                "see the kernel's answer; docs/doctor.md lists the bind-tx checks", p.evidence);
    }

    /** What a bind probe got: the refusal (null when it bound) and the answer in words. */
    record Probe(NetlinkException error, String evidence) {
    }

    /** bind-rx (queue 0) or bind-tx with a memfd as the "dma-buf" ({@link DevmemDiagnostics#probeBind}). */
    private static Probe probe(int ifindex, boolean rx) {
        String op = rx ? "netdev bind-rx (probe: ifindex " + ifindex + ", rx queue 0, a memfd as dma-buf)"
                : "netdev bind-tx (probe: ifindex " + ifindex + ", a memfd as dma-buf)";
        return DevmemDiagnostics.probeBind(ifindex, rx)
                .map(e -> new Probe(e, op + ": " + bareAnswer(e)))
                .orElseGet(() -> new Probe(null, op + ": bound (and unbound at once)"));
    }

    /** The kernel's answer in a few words: {@code ethtool rings-get va: EOPNOTSUPP, kernel says "..."}. */
    static String answer(Exception ex) {
        if (ex instanceof NetlinkException n) {
            return n.operation() + ": " + bareAnswer(n);
        }
        if (ex instanceof SyscallException s) {
            return s.operation() + ": " + s.errno().name();
        }
        return ex.getMessage();
    }

    /** {@code EOPNOTSUPP, kernel says "...", rejected attribute x}, or {@code EOPNOTSUPP (no extack)}. */
    static String bareAnswer(NetlinkException n) {
        StringBuilder sb = new StringBuilder(n.errno().name());
        n.extackMessage().ifPresent(m -> sb.append(", kernel says \"").append(m).append('"'));
        n.offendingAttribute().ifPresent(a -> sb.append(", rejected attribute ").append(a));
        if (n.extackMessage().isEmpty() && n.offendingAttribute().isEmpty()) {
            sb.append(" (no extack)");
        }
        return sb.toString();
    }

    private static Exporters exporters() {
        Path udmabuf = Path.of("/dev/udmabuf");
        Exporter u = Files.exists(udmabuf)
                ? new Exporter(Files.isReadable(udmabuf) && Files.isWritable(udmabuf),
                        Files.isReadable(udmabuf) ? "/dev/udmabuf" : "/dev/udmabuf exists but this user cannot open it")
                : new Exporter(false, "/dev/udmabuf is missing: modprobe udmabuf (CONFIG_UDMABUF)");
        return new Exporters(u, HostFacts.dmaHeaps(), cuda());
    }

    private static Exporter cuda() {
        try (Arena a = Arena.ofConfined()) {
            SymbolLookup cuda = SymbolLookup.libraryLookup("libcuda.so.1", a);
            boolean handle = cuda.find("cuMemGetHandleForAddressRange").isPresent();
            return new Exporter(handle, handle ? "libcuda.so.1 loads and has cuMemGetHandleForAddressRange"
                    : "libcuda.so.1 loads but lacks cuMemGetHandleForAddressRange (CUDA 11.7+ needed)");
        } catch (IllegalArgumentException | IllegalCallerException e) {
            return new Exporter(false, "libcuda.so.1 cannot be loaded (no NVIDIA driver here)");
        }
    }

    private static List<NicSetupState> nicSetupState(Path stateDir) {
        List<NicSetupState> out = new ArrayList<>();
        try {
            for (StaleSetup s : DevmemNicSetup.recordedSetups(stateDir)) {
                out.add(new NicSetupState(s.ifname(), s.pid(), s.ownerAlive(), s.started(),
                        s.changes().stream().map(NicChange::describe).toList(), s.file().toString()));
            }
        } catch (DevmemException e) {
            out.add(new NicSetupState(null, -1, false, null, List.of(e.getMessage()), stateDir.toString()));
        }
        return out;
    }
}
