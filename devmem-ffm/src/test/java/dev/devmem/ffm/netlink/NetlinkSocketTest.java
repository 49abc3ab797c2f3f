package dev.devmem.ffm.netlink;

import dev.devmem.api.Errno;
import dev.devmem.api.NetlinkException;
import dev.devmem.api.SyscallException;
import dev.devmem.ffm.testing.TestNetns;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static dev.devmem.ffm.netdev.NetdevSpec.*;
import static dev.devmem.ffm.sys.LinuxConstants.NETLINK_GENERIC;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The socket's own behaviour with the real kernel: buffers, ack modes, sequence matching, closing. */
class NetlinkSocketTest {

    @Test
    void aSmallReceiveBufferGrowsToTheDatagram() throws Exception {
        try (NetlinkSocket s = NetlinkSocket.open(NETLINK_GENERIC, true, true, 64)) {
            GenlFamily f = GenlFamily.resolve(s, "netdev"); // the reply is ~280 bytes
            assertThat(f.ops()).containsKey(CMD_BIND_RX);
            assertThat(s.receiveBufferSize()).isGreaterThanOrEqualTo(280);
        }
        try (NetlinkSocket s = NetlinkSocket.open()) {
            assertThat(s.receiveBufferSize()).isGreaterThanOrEqualTo(32 * 1024);
        }
    }

    @Test
    void withoutExtAckOrCapAckErrorsStillDecode() throws Exception {
        try (TestNetns ns = TestNetns.create()) {
            ns.call(() -> {
                int family;
                try (NetlinkSocket s = NetlinkSocket.open()) {
                    family = GenlFamily.resolve(s, FAMILY).id();
                }
                GenlRequest ifindex0 = new GenlMessageWriter("netdev bind-rx", family, CMD_BIND_RX, 1, DMABUF)
                        .u32(DMABUF_IFINDEX, 0).u32(DMABUF_FD, 7)
                        .beginArrayElement(DMABUF_QUEUES).u32(QUEUE_ID, 0).u32(QUEUE_TYPE, 0).endNest().build();
                try (NetlinkSocket echo = NetlinkSocket.open(NETLINK_GENERIC, true, false, 4096);
                     NetlinkSocket bare = NetlinkSocket.open(NETLINK_GENERIC, false, false, 4096)) {
                    assertThat(echo.capAckEnabled()).isFalse();
                    assertThatThrownBy(() -> echo.request(ifindex0)).isInstanceOfSatisfying(NetlinkException.class, e -> {
                        assertThat(e.errno()).isEqualTo(Errno.ERANGE);
                        assertThat(e.offendingAttribute()).contains("dmabuf.ifindex");
                        assertThat(e.policy()).contains("u32 min 1 max 4294967295");
                    });
                    assertThat(bare.extendedAckEnabled()).isFalse();
                    assertThatThrownBy(() -> bare.request(ifindex0)).isInstanceOfSatisfying(NetlinkException.class, e -> {
                        assertThat(e.errno()).isEqualTo(Errno.ERANGE);
                        assertThat(e.offendingAttribute()).isEmpty();
                        assertThat(e.extackMessage()).isEmpty();
                    });
                }
                return null;
            });
        }
    }

    @Test
    void repliesMatchTheirRequestAcrossManyExchanges() throws Exception {
        try (NetlinkSocket s = NetlinkSocket.open()) {
            for (int i = 0; i < 50; i++) {
                String name = i % 2 == 0 ? "netdev" : "nlctrl";
                assertThat(GenlFamily.resolve(s, name).name()).isEqualTo(name);
                if (i % 10 == 0) {
                    assertThatThrownBy(() -> GenlFamily.resolve(s, "devmem-nosuch")).isInstanceOf(NetlinkException.class);
                }
            }
        }
    }

    @Test
    void theRestOfAnAbortedDumpIsSkippedByTheNextRequest() throws Exception {
        // Abort a dump after its first message: what the kernel still sends for it (at least its
        // DONE, which comes in a datagram of its own) arrives under the old sequence number while
        // the next request waits for its own reply.
        GenlRequest allFamilies = new GenlMessageWriter("nlctrl getfamily (dump)", NetlinkConstants.GENL_ID_CTRL,
                NetlinkConstants.CTRL_CMD_GETFAMILY, 1, GenlFamily.CTRL).build();
        try (NetlinkSocket s = NetlinkSocket.open()) {
            RuntimeException abort = new RuntimeException("abort the dump");
            List<NlMessage> first = new java.util.ArrayList<>();
            s.tap(m -> {
                first.add(m);
                throw abort;
            });
            assertThatThrownBy(() -> s.dump(allFamilies)).isSameAs(abort);
            int abortedSeq = first.getFirst().seq();
            List<NlMessage> after = new java.util.ArrayList<>();
            s.tap(after::add);
            GenlFamily netdev = GenlFamily.resolve(s, FAMILY);
            s.tap(null);
            assertThat(netdev.name()).isEqualTo(FAMILY);
            // Had the old DONE (error 0) been taken for this request's answer, resolve would have
            // found no reply; it was received and skipped for its sequence number.
            assertThat(after).as("the aborted dump's DONE arrived during the next request")
                    .anyMatch(m -> m.seq() == abortedSeq && m.type() == NetlinkConstants.NLMSG_DONE);
            // and the socket is in step again
            assertThat(s.dump(allFamilies).size()).isGreaterThan(5);
        }
    }

    @Test
    void aDoRequestForADumpOnlyCommandIsRefused() throws Exception {
        try (NetlinkSocket s = NetlinkSocket.open()) {
            GenlFamily f = GenlFamily.resolve(s, FAMILY);
            GenlRequest r = f.writer("qstats-get", CMD_QSTATS_GET, QSTATS).build();
            assertThatThrownBy(() -> s.request(r)).isInstanceOfSatisfying(NetlinkException.class,
                    e -> assertThat(e.errno()).isEqualTo(Errno.EOPNOTSUPP));
            GenlRequest unknown = f.writer("cmd-99", 99, QSTATS).build();
            assertThatThrownBy(() -> s.request(unknown)).isInstanceOfSatisfying(NetlinkException.class,
                    e -> assertThat(e.errno()).isEqualTo(Errno.EOPNOTSUPP));
        }
    }

    @Test
    void closeIsIdempotentAndUseAfterCloseFails() throws Exception {
        NetlinkSocket s = NetlinkSocket.open();
        assertThat(s.portId()).isNotZero();
        assertThat(s.isOpen()).isTrue();
        s.close();
        s.close();
        assertThat(s.isOpen()).isFalse();
        assertThatThrownBy(() -> GenlFamily.resolve(s, "netdev")).isInstanceOfSatisfying(SyscallException.class,
                e -> assertThat(e.errno()).isEqualTo(Errno.EBADF));
        assertThatThrownBy(() -> s.receiveNotification(Duration.ZERO)).isInstanceOf(SyscallException.class);
    }

    @Test
    void noNotificationWithoutAGroupIsAnEmptyAnswer() throws Exception {
        try (NetlinkSocket s = NetlinkSocket.open()) {
            assertThat(s.receiveNotification(Duration.ZERO)).isEmpty();
        }
    }

    @Test
    void dumpsReturnEveryPart() throws Exception {
        try (TestNetns ns = TestNetns.create()) {
            List<GenlMessage> parts = ns.call(() -> {
                try (NetlinkSocket s = NetlinkSocket.open()) {
                    GenlFamily f = GenlFamily.resolve(s, FAMILY);
                    return s.dump(f.writer("queue-get", CMD_QUEUE_GET, QUEUE).build());
                }
            });
            // lo, va, vb: one rx and one tx queue each
            assertThat(parts).hasSize(6).allSatisfy(m -> assertThat(m.cmd()).isEqualTo(CMD_QUEUE_GET));
        }
    }
}
