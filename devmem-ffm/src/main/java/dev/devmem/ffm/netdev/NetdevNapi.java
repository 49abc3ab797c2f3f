package dev.devmem.ffm.netdev;

import dev.devmem.api.DevmemProtocolException;
import dev.devmem.ffm.netlink.NlAttributes;

import java.util.OptionalInt;
import java.util.OptionalLong;

import static dev.devmem.ffm.netdev.NetdevSpec.*;

/**
 * A NAPI instance as {@code napi-get} reports it: which irq and thread serve a device's queues,
 * which matters when pinning a devmem receiver next to its queue.
 *
 * @param pid      the NAPI kthread, only in threaded mode
 * @param threaded 0 off, 1 threaded (2 busy-poll threads from Linux 6.19)
 */
public record NetdevNapi(int id, int ifindex, OptionalInt irq, OptionalInt pid, OptionalInt deferHardIrqs,
                         OptionalLong groFlushTimeout, OptionalLong irqSuspendTimeout, OptionalInt threaded) {

    static NetdevNapi parse(NlAttributes a) throws DevmemProtocolException {
        return new NetdevNapi(a.requireU32(NAPI_ID), a.requireU32(NAPI_IFINDEX), a.u32(NAPI_IRQ), a.u32(NAPI_PID),
                a.u32(NAPI_DEFER_HARD_IRQS), a.uint(NAPI_GRO_FLUSH_TIMEOUT), a.uint(NAPI_IRQ_SUSPEND_TIMEOUT),
                a.u32(NAPI_THREADED));
    }
}
