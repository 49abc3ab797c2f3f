package dev.devmem.ffm.netdev;

import dev.devmem.api.DevmemProtocolException;
import dev.devmem.ffm.netlink.NlAttributes;

import java.util.OptionalInt;

import static dev.devmem.ffm.netdev.NetdevSpec.*;

/**
 * One queue of an interface as {@code queue-get} reports it. A devmem binding shows up only here
 * (and on page pools): the kernel sends no notification when one is made or undone.
 *
 * @param napiId  the NAPI instance serving the queue, when the driver registers one
 * @param dmabuf  the id of the dmabuf binding the rx queue is bound to, if any
 * @param ioUring whether an io_uring zero-copy rx area is attached (it shares the memory-provider slot)
 * @param xsk     whether an AF_XDP socket uses the queue
 */
public record NetdevQueue(int ifindex, QueueType type, int id, OptionalInt napiId, OptionalInt dmabuf,
                          boolean ioUring, boolean xsk) {

    /** Parses a queue; {@code null} for a queue type newer than this library. */
    static NetdevQueue parse(NlAttributes a) throws DevmemProtocolException {
        int type = a.requireU32(QUEUE_TYPE);
        QueueType t = QueueType.of(type).orElse(null);
        if (t == null) {
            return null;
        }
        return new NetdevQueue(a.requireU32(QUEUE_IFINDEX), t, a.requireU32(QUEUE_ID), a.u32(QUEUE_NAPI_ID),
                a.u32(QUEUE_DMABUF), a.has(QUEUE_IO_URING), a.has(QUEUE_XSK));
    }
}
