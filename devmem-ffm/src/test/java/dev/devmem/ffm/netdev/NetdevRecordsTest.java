package dev.devmem.ffm.netdev;

import dev.devmem.ffm.netlink.GenlMessage;
import dev.devmem.ffm.netlink.GenlMessageWriter;
import dev.devmem.ffm.netlink.NlAttributes;
import dev.devmem.ffm.netlink.NlMessage;
import org.junit.jupiter.api.Test;

import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;

import static dev.devmem.ffm.netdev.NetdevSpec.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Records whose populated form no device on this host produces (page pools, NAPI instances and
 * queue statistics need a real NIC): parsed from attributes laid out as the kernel sends them,
 * with {@code uint}s in both widths and an attribute id this library does not know.
 */
class NetdevRecordsTest {

    private static NlAttributes attrs(GenlMessageWriter w) throws Exception {
        return GenlMessage.parse(NlMessage.of(w.build().encode(0, 1)), "t").attributes();
    }

    @Test
    void pagePoolOfADevmemQueue() throws Exception {
        NetdevPagePool p = NetdevPagePool.parse(attrs(new GenlMessageWriter("t", 20, 5, 1, PAGE_POOL)
                .u64(PAGE_POOL_ID, 12).u32(PAGE_POOL_IFINDEX, 4).u32(PAGE_POOL_NAPI_ID, 8193)
                .u64(PAGE_POOL_INFLIGHT, 1L << 33).u32(PAGE_POOL_INFLIGHT_MEM, 4096)
                .u32(PAGE_POOL_DMABUF, 3).u32(40, 1)));
        assertThat(p).isEqualTo(new NetdevPagePool(12, OptionalInt.of(4), OptionalLong.of(8193),
                OptionalLong.of(1L << 33), OptionalLong.of(4096), OptionalLong.empty(), OptionalInt.of(3), false));
    }

    @Test
    void napiInThreadedMode() throws Exception {
        NetdevNapi n = NetdevNapi.parse(attrs(new GenlMessageWriter("t", 20, 11, 1, NAPI)
                .u32(NAPI_IFINDEX, 4).u32(NAPI_ID, 8193).u32(NAPI_IRQ, 120).u32(NAPI_PID, 777)
                .u32(NAPI_DEFER_HARD_IRQS, 0).u64(NAPI_GRO_FLUSH_TIMEOUT, 20_000).u32(NAPI_THREADED, 1)));
        assertThat(n).isEqualTo(new NetdevNapi(8193, 4, OptionalInt.of(120), OptionalInt.of(777), OptionalInt.of(0),
                OptionalLong.of(20_000), OptionalLong.empty(), OptionalInt.of(1)));
    }

    @Test
    void qstatsPerQueueWithCountersOfBothWidths() throws Exception {
        NetdevQstats q = NetdevQstats.parse(attrs(new GenlMessageWriter("t", 20, 12, 1, QSTATS)
                .u32(QSTATS_IFINDEX, 4).u32(QSTATS_QUEUE_TYPE, 0).u32(QSTATS_QUEUE_ID, 3)
                .u32(8, 10).u64(9, 5_000_000_000L).u32(33, 2).u32(60, 99)));
        assertThat(q.ifindex()).isEqualTo(4);
        assertThat(q.queueType()).isEqualTo(Optional.of(QueueType.RX));
        assertThat(q.queueId()).hasValue(3);
        assertThat(q.rxPackets()).hasValue(10);
        assertThat(q.rxBytes()).hasValue(5_000_000_000L);
        assertThat(q.txPackets()).isEmpty();
        assertThat(q.counter("tx-stop")).hasValue(2);
        assertThat(q.counters()).containsOnlyKeys("rx-packets", "rx-bytes", "tx-stop");
    }

    @Test
    void aQueueOfAFutureTypeIsLeftOut() throws Exception {
        assertThat(NetdevQueue.parse(attrs(new GenlMessageWriter("t", 20, 10, 1, QUEUE)
                .u32(QUEUE_ID, 0).u32(QUEUE_IFINDEX, 4).u32(QUEUE_TYPE, 2)))).isNull();
        NetdevQueue bound = NetdevQueue.parse(attrs(new GenlMessageWriter("t", 20, 10, 1, QUEUE)
                .u32(QUEUE_ID, 1).u32(QUEUE_IFINDEX, 4).u32(QUEUE_TYPE, 0).u32(QUEUE_DMABUF, 5)
                .beginNest(QUEUE_IO_URING).endNest()));
        assertThat(bound.dmabuf()).hasValue(5);
        assertThat(bound.ioUring()).isTrue();
    }
}
