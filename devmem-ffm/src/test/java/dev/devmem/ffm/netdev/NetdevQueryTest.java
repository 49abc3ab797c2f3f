package dev.devmem.ffm.netdev;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.devmem.api.Errno;
import dev.devmem.api.NetlinkException;
import dev.devmem.ffm.sys.Syscalls;
import dev.devmem.ffm.testing.TestNetns;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * netdev's queries answered by the real kernel in a throw-away namespace, checked against what
 * {@code ip -d -j link} reports for the same namespace.
 */
class NetdevQueryTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static TestNetns ns;

    @BeforeAll
    static void namespace() {
        ns = TestNetns.create();
        // a multi-queue veth pair beside va/vb, and one pair left down
        ns.ip("link", "add", "vm", "numtxqueues", "3", "numrxqueues", "2", "type", "veth",
                "peer", "name", "vn", "numtxqueues", "2", "numrxqueues", "3");
        ns.ip("link", "set", "vm", "up");
        ns.ip("link", "set", "vn", "up");
        ns.ip("link", "add", "vdown", "type", "veth", "peer", "name", "vdown2");
    }

    @AfterAll
    static void cleanup() {
        if (ns != null) {
            ns.close();
        }
    }

    /** One interface as {@code ip -d -j link} shows it; its queue counts are the allocated maxima. */
    private record IpLink(int ifindex, String name, boolean up, int rxQueues, int txQueues) {
    }

    /** The queues in use (real_num_rx/tx_queues), as the namespace's own sysfs lists them. */
    private static long sysfsQueues(String ifname, String prefix) {
        return ns.exec("ls", "/sys/class/net/" + ifname + "/queues").lines()
                .filter(l -> l.startsWith(prefix)).count();
    }

    private static List<IpLink> ipLinks() throws Exception {
        List<IpLink> out = new ArrayList<>();
        for (JsonNode l : JSON.readTree(ns.ip("-d", "-j", "link"))) {
            boolean up = false;
            for (JsonNode f : l.path("flags")) {
                up |= f.asText().equals("UP");
            }
            out.add(new IpLink(l.path("ifindex").asInt(), l.path("ifname").asText(), up,
                    l.path("num_rx_queues").asInt(-1), l.path("num_tx_queues").asInt(-1)));
        }
        return out;
    }

    @Test
    void devGetDumpListsTheSameInterfacesAsIp() throws Exception {
        List<IpLink> ip = ipLinks();
        assertThat(ip).extracting(IpLink::name).contains("lo", "va", "vb", "vm", "vn", "vdown", "vdown2");
        List<NetdevDevice> devices = ns.call(() -> {
            try (Netdev netdev = Netdev.open()) {
                return netdev.devices();
            }
        });
        assertThat(devices).extracting(NetdevDevice::ifindex)
                .containsExactlyInAnyOrderElementsOf(ip.stream().map(IpLink::ifindex).toList());
        // names map through the ifindex as seen from the same namespace
        Map<Integer, String> names = ns.call(() -> {
            Map<Integer, String> m = new HashMap<>();
            for (NetdevDevice d : devices) {
                m.put(d.ifindex(), Syscalls.ifIndexToName(d.ifindex()));
            }
            return m;
        });
        assertThat(names).isEqualTo(ip.stream().collect(Collectors.toMap(IpLink::ifindex, IpLink::name)));
        // the attributes this kernel sends for every device (ABI sheet section 9)
        for (NetdevDevice d : devices) {
            assertThat(d.xdpFeatures()).isPresent();
            assertThat(d.xdpRxMetadataFeatures()).isPresent();
            assertThat(d.xskFeatures()).isPresent();
        }
    }

    @Test
    void devGetOfOneInterfaceAndOfAMissingOne() throws Exception {
        int vm = ns.call(() -> Syscalls.ifNameToIndex("vm"));
        NetdevDevice d = ns.call(() -> {
            try (Netdev netdev = Netdev.open()) {
                return netdev.device(vm);
            }
        });
        assertThat(d.ifindex()).isEqualTo(vm);
        assertThatThrownBy(() -> ns.call(() -> {
            try (Netdev netdev = Netdev.open()) {
                return netdev.device(999);
            }
        })).isInstanceOfSatisfying(NetlinkException.class, e -> {
            assertThat(e.operation()).isEqualTo("netdev dev-get");
            assertThat(e.errno()).isEqualTo(Errno.ENODEV);
            assertThat(e.explanation()).contains("ifindex 999");
        });
    }

    @Test
    void queueGetDumpCountsMatchIpForInterfacesThatAreUp() throws Exception {
        List<IpLink> ip = ipLinks();
        List<NetdevQueue> queues = ns.call(() -> {
            try (Netdev netdev = Netdev.open()) {
                return netdev.queues();
            }
        });
        Map<Integer, Long> rx = count(queues, QueueType.RX);
        Map<Integer, Long> tx = count(queues, QueueType.TX);
        // ip reports what the device allocated (num_rx_queues); queue-get reports the queues in use
        // (real_num_rx_queues), which sysfs lists. A default veth allocates one queue per possible CPU
        // but uses one, so ip is only an upper bound there; where counts were set explicitly they agree.
        Map<Integer, Long> wantRx = new TreeMap<>();
        Map<Integer, Long> wantTx = new TreeMap<>();
        for (IpLink l : ip) {
            if (l.up()) {
                wantRx.put(l.ifindex(), sysfsQueues(l.name(), "rx-"));
                wantTx.put(l.ifindex(), sysfsQueues(l.name(), "tx-"));
                assertThat(rx.get(l.ifindex())).as("rx queues of %s", l.name()).isLessThanOrEqualTo(l.rxQueues());
                assertThat(tx.get(l.ifindex())).as("tx queues of %s", l.name()).isLessThanOrEqualTo(l.txQueues());
            }
        }
        assertThat(rx).isEqualTo(wantRx);
        assertThat(tx).isEqualTo(wantTx);
        for (String explicit : List.of("lo", "vm", "vn")) {
            IpLink l = ip.stream().filter(x -> x.name().equals(explicit)).findFirst().orElseThrow();
            assertThat(rx.get(l.ifindex())).as("rx queues of %s", explicit).isEqualTo(l.rxQueues());
            assertThat(tx.get(l.ifindex())).as("tx queues of %s", explicit).isEqualTo(l.txQueues());
        }
        IpLink vm = ip.stream().filter(l -> l.name().equals("vm")).findFirst().orElseThrow();
        assertThat(rx.get(vm.ifindex())).isEqualTo(2);
        assertThat(tx.get(vm.ifindex())).isEqualTo(3);
        // ids run 0..n-1 per type, and no queue is bound to a dmabuf here
        for (NetdevQueue q : queues) {
            long n = (q.type() == QueueType.RX ? rx : tx).get(q.ifindex());
            assertThat(q.id()).isBetween(0, (int) n - 1);
            assertThat(q.dmabuf()).isEmpty();
            assertThat(q.ioUring()).isFalse();
        }
        // interfaces that are down report no queues
        IpLink down = ip.stream().filter(l -> l.name().equals("vdown")).findFirst().orElseThrow();
        assertThat(rx).doesNotContainKey(down.ifindex());
    }

    @Test
    void queueGetOfOneQueueAndOfOneInterface() throws Exception {
        int vm = ns.call(() -> Syscalls.ifNameToIndex("vm"));
        ns.call(() -> {
            try (Netdev netdev = Netdev.open()) {
                assertThat(netdev.queues(vm)).hasSize(5).allMatch(q -> q.ifindex() == vm);
                NetdevQueue q = netdev.queue(vm, QueueType.TX, 2);
                assertThat(q).isEqualTo(new NetdevQueue(vm, QueueType.TX, 2, q.napiId(), q.dmabuf(), false, false));
                assertThatThrownBy(() -> netdev.queue(vm, QueueType.RX, 2))
                        .isInstanceOfSatisfying(NetlinkException.class,
                                e -> assertThat(e.errno()).isEqualTo(Errno.EINVAL));
            }
            return null;
        });
    }

    @Test
    void pagePoolsAndNapisAreEmptyForVirtualDevices() throws Exception {
        ns.call(() -> {
            try (Netdev netdev = Netdev.open()) {
                assertThat(netdev.pagePools()).isEmpty();
                assertThat(netdev.napis()).isEmpty();
                int va = Syscalls.ifNameToIndex("va");
                assertThat(netdev.napis(va)).isEmpty();
                assertThatThrownBy(() -> netdev.pagePool(1))
                        .isInstanceOfSatisfying(NetlinkException.class, e -> {
                            assertThat(e.operation()).isEqualTo("netdev page-pool-get");
                            assertThat(e.errno()).isEqualTo(Errno.ENOENT);
                        });
            }
            return null;
        });
    }

    @Test
    void qstatsOnAVethIsTheErrorInsideDone() throws Exception {
        int va = ns.call(() -> Syscalls.ifNameToIndex("va"));
        assertThatThrownBy(() -> ns.call(() -> {
            try (Netdev netdev = Netdev.open()) {
                return netdev.qstats(va, false);
            }
        })).isInstanceOfSatisfying(NetlinkException.class, e -> {
            assertThat(e.operation()).isEqualTo("netdev qstats-get");
            assertThat(e.errno()).isEqualTo(Errno.EOPNOTSUPP);
            assertThat(e.offendingAttribute()).contains("qstats.ifindex");
            assertThat(e.explanation()).contains("no queue statistics");
        });
        // over all devices, those without statistics are skipped rather than failing the dump
        List<NetdevQstats> all = ns.call(() -> {
            try (Netdev netdev = Netdev.open()) {
                return netdev.qstats();
            }
        });
        assertThat(all).isEmpty();
    }

    @Test
    void mgmtGroupAnnouncesANewInterface() throws Exception {
        List<NetdevNotification> seen = new ArrayList<>();
        ns.call(() -> {
            try (Netdev netdev = Netdev.open();
                 NetdevNotifications mgmt = netdev.subscribe(NetdevSpec.GROUP_MGMT)) {
                ns.ip("link", "add", "vx", "type", "veth", "peer", "name", "vy");
                int vx = Syscalls.ifNameToIndex("vx");
                int vy = Syscalls.ifNameToIndex("vy");
                assertThat(vx).isPositive();
                while (!(added(seen, vx) && added(seen, vy))) {
                    Optional<NetdevNotification> n = mgmt.next(Duration.ofSeconds(30));
                    if (n.isEmpty()) {
                        throw new AssertionError("no dev-add-ntf for vx " + vx + " and vy " + vy + "; saw " + seen);
                    }
                    seen.add(n.get());
                }
                ns.ip("link", "del", "vx");
            }
            return null;
        });
        assertThat(seen).filteredOn(n -> n.kind() == NetdevNotification.Kind.DEV_ADD)
                .allSatisfy(n -> assertThat(n.cmd()).isEqualTo(NetdevSpec.CMD_DEV_ADD_NTF));
    }

    @Test
    void queriesAndSubscriptionsGiveBackTheirSockets() throws Exception {
        ns.call(() -> {
            long before = NetdevBindTest.openSockets();
            for (int i = 0; i < 5; i++) {
                try (Netdev netdev = Netdev.open(); NetdevNotifications n = netdev.subscribe(NetdevSpec.GROUP_PAGE_POOL)) {
                    assertThat(NetdevBindTest.openSockets()).isEqualTo(before + 2);
                    netdev.devices();
                    assertThatThrownBy(() -> netdev.device(999)).isInstanceOf(NetlinkException.class);
                }
            }
            assertThat(NetdevBindTest.openSockets()).isEqualTo(before);
            return null;
        });
    }

    private static boolean added(List<NetdevNotification> seen, int ifindex) {
        return seen.stream().anyMatch(n -> n.kind() == NetdevNotification.Kind.DEV_ADD
                && n.device().map(NetdevDevice::ifindex).orElse(-1) == ifindex);
    }

    private static Map<Integer, Long> count(List<NetdevQueue> queues, QueueType type) {
        return queues.stream().filter(q -> q.type() == type)
                .collect(Collectors.groupingBy(NetdevQueue::ifindex, TreeMap::new, Collectors.counting()));
    }
}
