package dev.devmem.ffm.netdev;

import dev.devmem.api.DevmemProtocolException;
import dev.devmem.ffm.netlink.NlAttributes;

import java.util.OptionalInt;
import java.util.OptionalLong;

import static dev.devmem.ffm.netdev.NetdevSpec.*;

/**
 * What netdev's {@code dev-get} reports for one interface: its XDP and AF_XDP capabilities. The
 * interface name is not part of it (netdev identifies devices by ifindex only).
 *
 * @param xdpZcMaxSegs only reported by drivers with AF_XDP zero-copy multi-buffer support
 */
public record NetdevDevice(int ifindex, OptionalLong xdpFeatures, OptionalInt xdpZcMaxSegs,
                           OptionalLong xdpRxMetadataFeatures, OptionalLong xskFeatures) {

    static NetdevDevice parse(NlAttributes a) throws DevmemProtocolException {
        return new NetdevDevice(a.requireU32(DEV_IFINDEX), a.u64(DEV_XDP_FEATURES), a.u32(DEV_XDP_ZC_MAX_SEGS),
                a.u64(DEV_XDP_RX_METADATA_FEATURES), a.u64(DEV_XSK_FEATURES));
    }
}
