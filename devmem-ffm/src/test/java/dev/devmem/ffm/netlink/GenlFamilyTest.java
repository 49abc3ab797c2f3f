package dev.devmem.ffm.netlink;

import dev.devmem.api.Errno;
import dev.devmem.api.NetlinkException;
import dev.devmem.ffm.testing.TestNetns;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static dev.devmem.ffm.netlink.NetlinkConstants.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Family resolution through the real kernel's nlctrl. */
class GenlFamilyTest {

    @Test
    void netdevHasTheOpsAndGroupsOfLinux618() throws Exception {
        try (NetlinkSocket s = NetlinkSocket.open()) {
            assertThat(s.extendedAckEnabled()).isTrue();
            assertThat(s.capAckEnabled()).isTrue();
            GenlFamily f = GenlFamily.resolve(s, "netdev");
            System.out.println(f);
            assertThat(f.name()).isEqualTo("netdev");
            assertThat(f.id()).isGreaterThanOrEqualTo(GENL_ID_CTRL);
            assertThat(f.version()).isEqualTo(1);
            assertThat(f.headerSize()).isZero();
            int doDump = GENL_CMD_CAP_DO | GENL_CMD_CAP_DUMP | GENL_CMD_CAP_HASPOL;
            int adminDo = GENL_ADMIN_PERM | GENL_CMD_CAP_DO | GENL_CMD_CAP_HASPOL;
            assertThat(f.ops()).containsExactlyEntriesOf(new java.util.TreeMap<>(Map.of(
                    1, new GenlOp(1, doDump),
                    5, new GenlOp(5, doDump),
                    10, new GenlOp(10, doDump),
                    11, new GenlOp(11, doDump),
                    12, new GenlOp(12, GENL_CMD_CAP_DUMP | GENL_CMD_CAP_HASPOL),
                    13, new GenlOp(13, adminDo),
                    14, new GenlOp(14, adminDo),
                    15, new GenlOp(15, GENL_CMD_CAP_DO | GENL_CMD_CAP_HASPOL))));
            assertThat(f.groups().keySet()).containsExactly("mgmt", "page-pool");
            assertThat(f.canDo(15)).isTrue();
            assertThat(f.canDump(15)).isFalse();
            assertThat(f.op(13).orElseThrow().needsAdmin()).isTrue();
            assertThat(f.op(9)).isEmpty();
        }
    }

    @Test
    void nlctrlResolvesItself() throws Exception {
        try (NetlinkSocket s = NetlinkSocket.open()) {
            GenlFamily f = GenlFamily.resolve(s, "nlctrl");
            assertThat(f.id()).isEqualTo(GENL_ID_CTRL);
            assertThat(f.canDo(CTRL_CMD_GETFAMILY)).isTrue();
            assertThat(f.canDump(CTRL_CMD_GETPOLICY)).isTrue();
            assertThat(f.groups()).containsKey("notify");
        }
    }

    @Test
    void unknownFamilyIsEnoent() throws Exception {
        try (NetlinkSocket s = NetlinkSocket.open()) {
            assertThatThrownBy(() -> GenlFamily.resolve(s, "devmem-nosuch"))
                    .isInstanceOfSatisfying(NetlinkException.class, e -> {
                        assertThat(e.errno()).isEqualTo(Errno.ENOENT);
                        assertThat(e.operation()).isEqualTo("nlctrl getfamily devmem-nosuch");
                        assertThat(e.extackMessage()).isEmpty();
                        assertThat(e.getMessage()).contains("no generic-netlink family \"devmem-nosuch\"");
                    });
            // the socket stays usable after an error
            assertThat(GenlFamily.resolve(s, "netdev").name()).isEqualTo("netdev");
        }
    }

    @Test
    void familyIdsAreTheSameInsideANamespace() throws Exception {
        int root;
        try (NetlinkSocket s = NetlinkSocket.open()) {
            root = GenlFamily.resolve(s, "netdev").id();
        }
        try (TestNetns ns = TestNetns.create()) {
            int inside = ns.call(() -> {
                try (NetlinkSocket s = NetlinkSocket.open()) {
                    return GenlFamily.resolve(s, "netdev").id();
                }
            });
            assertThat(inside).isEqualTo(root);
        }
    }
}
