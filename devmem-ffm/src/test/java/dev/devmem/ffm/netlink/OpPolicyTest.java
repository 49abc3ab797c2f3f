package dev.devmem.ffm.netlink;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static dev.devmem.ffm.netdev.NetdevSpec.*;
import static org.assertj.core.api.Assertions.assertThat;

/** CTRL_CMD_GETPOLICY against the real kernel: the policies bind-rx and qstats-get enforce. */
class OpPolicyTest {

    @Test
    void bindRxAcceptsIfindexQueuesAndFd() throws Exception {
        try (NetlinkSocket s = NetlinkSocket.open()) {
            GenlFamily netdev = GenlFamily.resolve(s, FAMILY);
            OpPolicy p = OpPolicy.query(s, netdev, CMD_BIND_RX);
            assertThat(p.doPolicy()).isPresent();
            Map<Integer, AttributePolicy> attrs = p.doAttributes();
            assertThat(attrs).containsOnlyKeys(DMABUF_IFINDEX, DMABUF_QUEUES, DMABUF_FD);
            assertThat(attrs.get(DMABUF_IFINDEX).describe()).isEqualTo("u32 min 1 max 4294967295");
            assertThat(attrs.get(DMABUF_FD).typeName()).isEqualTo("u32");
            AttributePolicy queues = attrs.get(DMABUF_QUEUES);
            assertThat(queues.typeName()).isEqualTo("nested");
            Map<Integer, AttributePolicy> inner = p.nestedAttributes(queues);
            assertThat(inner).containsOnlyKeys(QUEUE_ID, QUEUE_TYPE);
            assertThat(inner.get(QUEUE_TYPE).describe()).isEqualTo("u32 min 0 max 1");
        }
    }

    @Test
    void bindTxAndADumpOnlyOp() throws Exception {
        try (NetlinkSocket s = NetlinkSocket.open()) {
            GenlFamily netdev = GenlFamily.resolve(s, FAMILY);
            assertThat(OpPolicy.query(s, netdev, CMD_BIND_TX).doAttributes().keySet())
                    .contains(DMABUF_IFINDEX, DMABUF_FD);
            OpPolicy q = OpPolicy.query(s, netdev, CMD_QSTATS_GET);
            assertThat(q.doPolicy()).isEmpty();
            assertThat(q.dumpAttributes()).containsKeys(QSTATS_IFINDEX, QSTATS_SCOPE);
            assertThat(q.dumpAttributes().get(QSTATS_SCOPE).describe()).isEqualTo("uint mask 0x1");
        }
    }
}
