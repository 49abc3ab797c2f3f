package dev.devmem.cli;

import dev.devmem.api.Errno;
import dev.devmem.api.NetlinkException;
import dev.devmem.cli.DoctorReport.HeaderSplit;
import dev.devmem.cli.DoctorReport.NetdevFamily;
import dev.devmem.cli.DoctorReport.Verdict;
import dev.devmem.ffm.ethtool.EthtoolRings;
import dev.devmem.ffm.ethtool.TcpDataSplit;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The verdict rules for answers this host cannot produce (it has no devmem NIC): a device that gets
 * past bind-rx's device checks, header split off, no privilege, an old kernel. The refusals are
 * shaped as the kernel sends them (ABI fact sheet 1.3, 1.4).
 */
class DoctorVerdictTest {
    private static final NetdevFamily FAMILY = new NetdevFamily(true, 20, List.of(1, 5, 10, 11, 12, 13, 14, 15), true, true, null);

    private static DoctorProbe.Probe refused(Errno e, String text, String attribute) {
        NetlinkException x = new NetlinkException("netdev bind-rx", e, text, attribute, null, null, null);
        return new DoctorProbe.Probe(x, "netdev bind-rx (probe): " + DoctorProbe.bareAnswer(x));
    }

    private static EthtoolRings rings(TcpDataSplit split, long hds) {
        return new EthtoolRings("eth1", OptionalInt.of(4096), OptionalInt.empty(), OptionalInt.empty(), OptionalInt.of(4096),
                OptionalInt.of(1024), OptionalInt.empty(), OptionalInt.empty(), OptionalInt.of(1024), OptionalInt.empty(),
                Optional.of(split), OptionalInt.empty(), OptionalLong.of(hds), OptionalLong.of(1024));
    }

    private static HeaderSplit split(EthtoolRings r) {
        return new HeaderSplit(true, r.tcpDataSplit().get().label(), r.hdsThresh().getAsLong(), 1024L, null);
    }

    private static Verdict rx(DoctorProbe.Probe p, Optional<EthtoolRings> r) {
        HeaderSplit hs = r.map(DoctorVerdictTest::split).orElse(new HeaderSplit(false, null, null, null,
                "ethtool rings-get eth1: EOPNOTSUPP (no extack)"));
        return DoctorProbe.rxVerdict(FAMILY, p, "eth1", "driver bnxt_en", true, r, hs);
    }

    @Test
    void aDeviceThatRefusesOnlyTheMemfdWithHeaderSplitReadyIsAYes() {
        // bind-rx got to the fd: dma_buf_get(memfd) fails with EINVAL, no text, no offset
        Verdict v = rx(refused(Errno.EINVAL, null, null), Optional.of(rings(TcpDataSplit.ENABLED, 0)));
        assertThat(v.verdict()).isEqualTo("yes");
        assertThat(v.fix()).isNull();
        assertThat(v.evidence()).contains("EINVAL (no extack)");
        assertThat(rx(refused(Errno.EBADF, null, "dmabuf.fd"), Optional.of(rings(TcpDataSplit.ENABLED, 0))).verdict())
                .isEqualTo("yes");
    }

    @Test
    void headerSplitOffOrAThresholdIsANoWithTheEthtoolFix() {
        Verdict off = rx(refused(Errno.EINVAL, null, null), Optional.of(rings(TcpDataSplit.DISABLED, 0)));
        assertThat(off.verdict()).isEqualTo("no");
        assertThat(off.reason()).contains("tcp-data-split disabled");
        assertThat(off.fix()).contains("ethtool -G eth1 tcp-data-split on hds-thresh 0", "DevmemNicSetup");
        Verdict auto = rx(refused(Errno.EINVAL, null, null), Optional.of(rings(TcpDataSplit.UNKNOWN, 0)));
        assertThat(auto.verdict()).isEqualTo("no"); // "auto" is not enough: bind-rx wants it set explicitly
        Verdict thresh = rx(refused(Errno.EINVAL, null, null), Optional.of(rings(TcpDataSplit.ENABLED, 256)));
        assertThat(thresh.verdict()).isEqualTo("no");
        assertThat(thresh.reason()).contains("hds-thresh 256");
        Verdict noRings = rx(refused(Errno.EINVAL, null, null), Optional.empty());
        assertThat(noRings.verdict()).isEqualTo("no");
        assertThat(noRings.reason()).contains("does not report header split");
    }

    @Test
    void noQueueApiNoPrivilegeAndKernelTextsAreNos() {
        Verdict api = rx(refused(Errno.EOPNOTSUPP, null, "dmabuf.ifindex"), Optional.empty());
        assertThat(api.reason()).isEqualTo("driver bnxt_en has no netdev queue-management API (bind-rx answers EOPNOTSUPP)");
        Verdict perm = rx(refused(Errno.EPERM, null, null), Optional.empty());
        assertThat(perm.verdict()).isEqualTo("no");
        assertThat(perm.fix()).startsWith("run as root or grant CAP_NET_ADMIN");
        Verdict dma = rx(refused(Errno.EOPNOTSUPP, "Device doesn't support DMA", null), Optional.empty());
        assertThat(dma.verdict()).isEqualTo("no");
        assertThat(dma.reason()).contains("Device doesn't support DMA");
    }

    @Test
    void txFollowsTheBindTxAnswer() {
        NetlinkException netmem = new NetlinkException("netdev bind-tx", Errno.EOPNOTSUPP,
                "Driver does not support netmem TX", null, null, null, null);
        Verdict no = DoctorProbe.txVerdict(FAMILY, new DoctorProbe.Probe(netmem, "x"), "driver veth", true);
        assertThat(no.verdict()).isEqualTo("no");
        assertThat(no.reason()).contains("does not support netmem TX");
        NetlinkException fd = new NetlinkException("netdev bind-tx", Errno.EINVAL, null, null, null, null, null);
        assertThat(DoctorProbe.txVerdict(FAMILY, new DoctorProbe.Probe(fd, "x"), "driver gve", true).verdict()).isEqualTo("yes");
    }

    @Test
    void aKernelWithoutTheOpsIsANoForTheRightRelease() {
        NetdevFamily old = new NetdevFamily(true, 20, List.of(1, 5, 10, 11, 12, 13, 14), true, false, null);
        Verdict tx = DoctorProbe.txVerdict(old, null, "driver gve", true);
        assertThat(tx.verdict()).isEqualTo("no");
        assertThat(tx.fix()).contains("Linux 6.16");
        NetdevFamily none = new NetdevFamily(false, null, List.of(), false, false, "no netdev family");
        assertThat(DoctorProbe.rxVerdict(none, null, "eth1", "driver x", true, Optional.empty(),
                new HeaderSplit(false, null, null, null, null)).fix()).contains("6.12", "CONFIG_NET_DEVMEM");
    }

    @Test
    void requireIsMetByAnyInterfaceWithAYesAndOtherwiseNamesEveryReason() {
        Verdict yes = rx(refused(Errno.EINVAL, null, null), Optional.of(rings(TcpDataSplit.ENABLED, 0)));
        Verdict no = Verdict.no("driver veth has no netdev queue-management API", "a NIC", "EOPNOTSUPP");
        DoctorReport.Iface eth1 = iface("eth1", yes, no);
        DoctorReport.Iface veth = iface("veth0", no, no);
        DoctorReport both = report(List.of(veth, eth1));
        assertThat(DoctorCommand.unmet(both, List.of(DoctorCommand.Direction.rx))).isEmpty();
        assertThat(DoctorCommand.unmet(both, List.of())).isEmpty();
        assertThat(DoctorCommand.unmet(both, List.of(DoctorCommand.Direction.rx, DoctorCommand.Direction.tx,
                DoctorCommand.Direction.tx))).containsExactly("devmem TX is not possible here (veth0: "
                + no.reason() + ", eth1: " + no.reason() + ")");
        assertThat(DoctorCommand.unmet(report(List.of()), List.of(DoctorCommand.Direction.rx)))
                .containsExactly("devmem RX is not possible here (no interface reported)");
    }

    private static DoctorReport.Iface iface(String name, Verdict rx, Verdict tx) {
        return new DoctorReport.Iface(name, 2, null, new DoctorReport.Queues(1, 1), null, null, null, List.of(),
                List.of(), rx, tx, List.of());
    }

    private static DoctorReport report(List<DoctorReport.Iface> ifaces) {
        return new DoctorReport(DoctorReport.SCHEMA, "6.18", null, true, FAMILY, null, null, null, 0, List.of(), ifaces);
    }
}
