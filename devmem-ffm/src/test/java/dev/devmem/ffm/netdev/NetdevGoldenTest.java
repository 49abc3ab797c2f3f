package dev.devmem.ffm.netdev;

import dev.devmem.ffm.netlink.ExtAck;
import dev.devmem.ffm.netlink.GenlFamily;
import dev.devmem.ffm.netlink.GenlMessage;
import dev.devmem.ffm.netlink.GenlRequest;
import dev.devmem.ffm.netlink.NetlinkFailure;
import dev.devmem.ffm.netlink.NlMessage;
import dev.devmem.ffm.testing.GoldenHex;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.OptionalInt;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The netdev requests the library writes, byte for byte, and its records and explanations on the
 * answers a Linux 6.18 kernel really gave (recorded under {@code src/test/resources/netlink}).
 */
class NetdevGoldenTest {

    private static GoldenHex golden(String name) {
        return GoldenHex.load("/netlink/" + name + ".hex");
    }

    /** The family as the recording host registered it (id 20), without a kernel. */
    private static Netdev recordedNetdev() throws Exception {
        GenlFamily f = GenlFamily.parse(GenlMessage.parse(NlMessage.of(golden("getfamily-netdev").message(0)), "golden"));
        return new Netdev(null, f);
    }

    @Test
    void bindRxRequestHasTheFactSheetLayout() throws Exception {
        GenlRequest r = recordedNetdev().bindRxRequest(BindRxParams.of(3, List.of(0, 1), 7, 4096));
        // nlmsghdr: len 76, type 20 (netdev here), flags and seq filled in when sent, pid 0
        // genlmsghdr: cmd 13 (bind-rx), version 1
        // ifindex (1) = 3 @20, fd (3) = 7 @28,
        // queues (2|NLA_F_NESTED) @36 {id (1) = 0 @40, type (3) = rx @48}, @56 {id = 1 @60, type = rx @68}
        assertThat(r.hex()).isEqualTo(""
                + "4c000000" + "1400" + "0000" + "00000000" + "00000000"
                + "0d010000"
                + "08000100" + "03000000"
                + "08000300" + "07000000"
                + "14000280" + "08000100" + "00000000" + "08000300" + "00000000"
                + "14000280" + "08000100" + "01000000" + "08000300" + "00000000");
        assertThat(r.operation()).isEqualTo("netdev bind-rx");
        assertThat(r.attributeAt(20)).contains("dmabuf.ifindex");
        assertThat(r.attributeAt(28)).contains("dmabuf.fd");
        assertThat(r.attributeAt(36)).contains("dmabuf.queues[0]");
        assertThat(r.attributeAt(40)).contains("dmabuf.queues[0].id");
        assertThat(r.attributeAt(48)).contains("dmabuf.queues[0].type");
        assertThat(r.attributeAt(56)).contains("dmabuf.queues[1]");
        assertThat(r.attributeAt(60)).contains("dmabuf.queues[1].id");
        assertThat(r.attributeAt(68)).contains("dmabuf.queues[1].type");
        assertThat(r.attributeAt(30)).contains("dmabuf.fd+2");
        assertThat(r.attributeAt(8)).isEmpty();
        assertThat(r.attributeAt(76)).isEmpty();
        assertThat(r.missingAttribute(NetdevSpec.DMABUF_FD, OptionalInt.empty())).isEqualTo("dmabuf.fd");
        assertThat(r.missingAttribute(NetdevSpec.QUEUE_TYPE, OptionalInt.of(56))).isEqualTo("dmabuf.queues[1].type");
        // flags and sequence number as the socket stamps them
        byte[] sent = r.encode(0x5, 0x01020304);
        assertThat(sent[6]).isEqualTo((byte) 5);
        assertThat(sent[8]).isEqualTo((byte) 4);
        assertThat(sent[11]).isEqualTo((byte) 1);
    }

    @Test
    void bindRequestsAreTheOnesTheKernelAnswered() throws Exception {
        Netdev netdev = recordedNetdev();
        assertThat(netdev.bindRxRequest(BindRxParams.of(3, List.of(0), 7, 4096)).hex())
                .isEqualTo(golden("bind-rx-va").requestHex());
        assertThat(netdev.bindTxRequest(BindTxParams.of(3, 7, 4096)).hex())
                .isEqualTo(golden("bind-tx-va").requestHex());
    }

    @Test
    void bindRxOnVethIsExplainedAsMissingQueueApi() throws Exception {
        Netdev netdev = recordedNetdev();
        GenlRequest r = netdev.bindRxRequest(BindRxParams.of(3, List.of(0), 7, 4096));
        NetlinkFailure f = NetlinkFailure.of(r, ExtAck.ofError(NlMessage.of(golden("bind-rx-va").message(0))));
        assertThat(f.offendingAttribute()).contains("dmabuf.ifindex");
        assertThat(NetdevExplanations.bindRx(3).explain(f)).isEqualTo(NetdevExplanations.NO_QUEUE_API);
        // a text from the kernel wins: the same errno and offset with a message gets no guess
        NetlinkFailure tx = NetlinkFailure.of(netdev.bindTxRequest(BindTxParams.of(3, 7, 4096)),
                ExtAck.ofError(NlMessage.of(golden("bind-tx-va").message(0))));
        assertThat(NetdevExplanations.bindRx(3).explain(tx)).isNull();
        assertThat(NetdevExplanations.bindTx(3).explain(tx)).isEqualTo(NetdevExplanations.NO_NETMEM_TX);
    }

    /**
     * Linux 6.16-6.19 check no privilege for bind-tx (NetdevPrivilegeTest proves it on this host), but
     * one was proposed upstream. Should a kernel answer EPERM, as bind-rx does (errno only, no TLVs),
     * the exception says what to do rather than leaving a bare "Operation not permitted".
     */
    @Test
    void aBindTxEpermIsExplainedAsAPrivilegeTheKernelChecks() throws Exception {
        Netdev netdev = recordedNetdev();
        ExtAck eperm = new ExtAck(-1, java.util.Optional.empty(), OptionalInt.empty(), OptionalInt.empty(),
                OptionalInt.empty(), java.util.Optional.empty(), java.util.Optional.empty(), 0);
        NetlinkFailure f = NetlinkFailure.of(netdev.bindTxRequest(BindTxParams.of(3, 7, 4096)), eperm);
        String why = NetdevExplanations.bindTx(3).explain(f);
        assertThat(why).isEqualTo(NetdevExplanations.BIND_TX_EPERM).contains("CAP_NET_ADMIN");
        dev.devmem.api.NetlinkException e = f.toException(why);
        assertThat(e.errno()).isEqualTo(dev.devmem.api.Errno.EPERM);
        assertThat(e.operation()).isEqualTo("netdev bind-tx");
        assertThat(e.getMessage()).contains("EPERM").contains("bind-tx was refused for lack of privilege");
    }

    @Test
    void recordsFromRecordedDumps() throws Exception {
        GoldenHex dev = golden("dev-get-dump");
        NetdevDevice lo = NetdevDevice.parse(GenlMessage.parse(NlMessage.of(dev.message(0)), "dev").attributes());
        assertThat(lo.ifindex()).isEqualTo(1);
        assertThat(lo.xdpFeatures()).hasValue(0);
        assertThat(lo.xdpZcMaxSegs()).isEmpty();
        NetdevDevice veth = NetdevDevice.parse(GenlMessage.parse(NlMessage.of(dev.message(1)), "dev").attributes());
        assertThat(veth.xdpFeatures()).hasValue(0x23); // basic | redirect | rx-sg
        assertThat(veth.xdpRxMetadataFeatures()).hasValue(7);

        GoldenHex q = golden("queue-get-dump-va");
        NetdevQueue rx = NetdevQueue.parse(GenlMessage.parse(NlMessage.of(q.message(0)), "queue").attributes());
        NetdevQueue tx = NetdevQueue.parse(GenlMessage.parse(NlMessage.of(q.message(1)), "queue").attributes());
        assertThat(rx).isEqualTo(new NetdevQueue(3, QueueType.RX, 0, OptionalInt.empty(), OptionalInt.empty(), false, false));
        assertThat(tx.type()).isEqualTo(QueueType.TX);

        NetdevNotification n = NetdevNotification.parse(GenlMessage.parse(NlMessage.of(golden("dev-add-ntf").message(0)), "ntf"));
        assertThat(n.kind()).isEqualTo(NetdevNotification.Kind.DEV_ADD);
        assertThat(n.device().orElseThrow().ifindex()).isEqualTo(4);
    }
}
