package dev.devmem.ffm.netdev;

import dev.devmem.api.DevmemProtocolException;
import dev.devmem.ffm.netlink.NlAttributes;

import java.util.OptionalInt;
import java.util.OptionalLong;

import static dev.devmem.ffm.netdev.NetdevSpec.*;

/**
 * A page pool as {@code page-pool-get} reports it. A devmem rx queue's pool names its binding in
 * {@link #dmabuf}; pools outlive their device until every page came back, hence the optional
 * ifindex and the detach time.
 *
 * @param ifindex    absent (or 0) once the device is gone
 * @param detachTime seconds of CLOCK_BOOTTIME when the driver let go of the pool
 */
public record NetdevPagePool(long id, OptionalInt ifindex, OptionalLong napiId, OptionalLong inflight,
                             OptionalLong inflightMem, OptionalLong detachTime, OptionalInt dmabuf,
                             boolean ioUring) {

    static NetdevPagePool parse(NlAttributes a) throws DevmemProtocolException {
        return new NetdevPagePool(a.requireUint(PAGE_POOL_ID), a.u32(PAGE_POOL_IFINDEX), a.uint(PAGE_POOL_NAPI_ID),
                a.uint(PAGE_POOL_INFLIGHT), a.uint(PAGE_POOL_INFLIGHT_MEM), a.uint(PAGE_POOL_DETACH_TIME),
                a.u32(PAGE_POOL_DMABUF), a.has(PAGE_POOL_IO_URING));
    }
}
