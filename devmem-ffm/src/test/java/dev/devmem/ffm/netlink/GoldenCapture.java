package dev.devmem.ffm.netlink;

import dev.devmem.ffm.testing.TestNetns;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static dev.devmem.ffm.netdev.NetdevSpec.*;

/**
 * Records the kernel's raw answers that {@link GoldenBytesTest} decodes, into
 * {@code src/test/resources/netlink/*.hex}. It runs only when asked:
 * <pre>
 * bin/test -pl devmem-ffm -am -Dtest=GoldenCapture -Ddevmem.golden.capture=$PWD/devmem-ffm/src/test/resources/netlink
 * </pre>
 * File format: {@code #} comment lines (what was sent, the request bytes after {@code # request }),
 * then one received message per line as hex. The requests use fd 7: every captured answer comes
 * from a check the kernel makes before it looks at the fd.
 */
class GoldenCapture {
    static final int FD = 7;

    @Test
    void capture() throws Exception {
        String dir = System.getProperty("devmem.golden.capture");
        if (dir == null) {
            System.out.println("SKIPPED (GoldenCapture): only records golden bytes when -Ddevmem.golden.capture=DIR is set");
        }
        Assumptions.assumeTrue(dir != null, "set -Ddevmem.golden.capture=DIR to record golden bytes");
        Path out = Path.of(dir);
        Files.createDirectories(out);
        try (TestNetns ns = TestNetns.create()) {
            ns.call(() -> {
                int va = dev.devmem.ffm.sys.Syscalls.ifNameToIndex("va");
                try (NetlinkSocket s = NetlinkSocket.open()) {
                    GenlFamily netdev = GenlFamily.resolve(s, FAMILY);
                    write(out, "getfamily-netdev", "nlctrl GETFAMILY netdev: the NEWFAMILY reply, then the ACK",
                            s, GenlFamily.getFamilyRequest(FAMILY), false);
                    write(out, "getfamily-unknown", "nlctrl GETFAMILY devmem-nosuch: ENOENT",
                            s, GenlFamily.getFamilyRequest("devmem-nosuch"), false);
                    write(out, "dev-get-dump", "netdev dev-get dump in a namespace with lo, va, vb",
                            s, netdev.writer("dev-get", CMD_DEV_GET, DEV).build(), true);
                    write(out, "queue-get-dump-va", "netdev queue-get dump of va (ifindex " + va + ")",
                            s, netdev.writer("queue-get", CMD_QUEUE_GET, QUEUE).u32(QUEUE_IFINDEX, va).build(), true);
                    write(out, "qstats-va-done-error", "netdev qstats-get dump of va: EOPNOTSUPP inside DONE",
                            s, netdev.writer("qstats-get", CMD_QSTATS_GET, QSTATS).u32(QSTATS_IFINDEX, va).build(), true);
                }
                // binds each on a fresh socket, as the library does
                capture(out, "bind-rx-ifindex0", "netdev bind-rx ifindex 0: ERANGE with OFFS and POLICY",
                        bindRx(0, true, 0));
                capture(out, "bind-rx-missing-fd", "netdev bind-rx without fd: EINVAL with MISS_TYPE",
                        bindRx(va, false, 0));
                capture(out, "bind-rx-queue-type2", "netdev bind-rx with a second queue of type 2: ERANGE inside a nest",
                        bindRx(va, true, 2));
                capture(out, "bind-rx-va", "netdev bind-rx on va: EOPNOTSUPP with OFFS at ifindex only",
                        bindRx(va, true, -1));
                capture(out, "bind-tx-va", "netdev bind-tx on va: EOPNOTSUPP with the driver's text",
                        bindTx(va));
                try (NetlinkSocket s = NetlinkSocket.open(NETLINK_GENERIC_PROTOCOL, true, false, NetlinkSocket.MIN_RECEIVE_BUFFER)) {
                    write(out, "bind-rx-ifindex0-uncapped",
                            "netdev bind-rx ifindex 0 on a socket without NETLINK_CAP_ACK: the request echoed",
                            s, bindRx(0, true, 0), false);
                }
                try (NetlinkSocket s = NetlinkSocket.open()) {
                    GenlFamily netdev = GenlFamily.resolve(s, FAMILY);
                    s.joinGroup(netdev.group(GROUP_MGMT).orElseThrow());
                    ns.ip("link", "add", "vx", "type", "veth", "peer", "name", "vy");
                    GenlMessage ntf = s.receiveNotification(Duration.ofSeconds(30)).orElseThrow();
                    Files.writeString(out.resolve("dev-add-ntf.hex"),
                            "# netdev mgmt notification after ip link add vx type veth peer name vy\n"
                                    + ntf.message().hex() + "\n");
                }
                return null;
            });
        }
    }

    private static final int NETLINK_GENERIC_PROTOCOL = dev.devmem.ffm.sys.LinuxConstants.NETLINK_GENERIC;

    static int netdevId() throws Exception {
        try (NetlinkSocket s = NetlinkSocket.open()) {
            return GenlFamily.resolve(s, FAMILY).id();
        }
    }

    static GenlRequest bindRx(int ifindex, boolean withFd, int secondType) throws Exception {
        return bindRx(netdevId(), ifindex, withFd, secondType);
    }

    /** bind-rx with ifindex, fd 7 when {@code withFd}, queue 0 (rx), and a queue 1 of {@code secondType} when >= 0. */
    static GenlRequest bindRx(int familyId, int ifindex, boolean withFd, int secondType) {
        GenlMessageWriter w = new GenlMessageWriter("netdev bind-rx", familyId, CMD_BIND_RX, 1, DMABUF)
                .u32(DMABUF_IFINDEX, ifindex);
        if (withFd) {
            w.u32(DMABUF_FD, FD);
        }
        w.beginArrayElement(DMABUF_QUEUES).u32(QUEUE_ID, 0).u32(QUEUE_TYPE, 0).endNest();
        if (secondType >= 0) {
            w.beginArrayElement(DMABUF_QUEUES).u32(QUEUE_ID, 1).u32(QUEUE_TYPE, secondType).endNest();
        }
        return w.build();
    }

    static GenlRequest bindTx(int ifindex) throws Exception {
        return new GenlMessageWriter("netdev bind-tx", netdevId(), CMD_BIND_TX, 1, DMABUF)
                .u32(DMABUF_IFINDEX, ifindex).u32(DMABUF_FD, FD).build();
    }

    private static void capture(Path out, String name, String what, GenlRequest r) throws Exception {
        try (NetlinkSocket s = NetlinkSocket.open()) {
            write(out, name, what, s, r, false);
        }
    }

    private static void write(Path out, String name, String what, NetlinkSocket s, GenlRequest r, boolean dump)
            throws Exception {
        List<NlMessage> seen = new ArrayList<>();
        s.tap(seen::add);
        try {
            if (dump) {
                s.dump(r);
            } else {
                s.request(r);
            }
        } catch (dev.devmem.api.NetlinkException expected) {
            // the refusal is what we record
        } finally {
            s.tap(null);
        }
        StringBuilder sb = new StringBuilder("# ").append(what).append('\n')
                .append("# captured on Linux ").append(System.getProperty("os.version")).append('\n')
                .append("# request ").append(r.hex()).append('\n');
        for (NlMessage m : seen) {
            sb.append(m.hex()).append('\n');
        }
        Files.writeString(out.resolve(name + ".hex"), sb.toString());
    }
}
