package dev.devmem.ffm.ethtool;

import dev.devmem.api.DevmemProtocolException;
import dev.devmem.ffm.netlink.NlAttributes;

import java.util.OptionalInt;

import static dev.devmem.ffm.ethtool.EthtoolSpec.*;

/**
 * An interface's channel counts as {@code channels-get} reports them ({@code ethtool -l}). The
 * kernel sends a kind (rx, tx, other, combined) only when its maximum is non-zero, so an absent
 * kind is what ethtool prints as "n/a".
 */
public record EthtoolChannels(String ifname, OptionalInt rxMax, OptionalInt txMax, OptionalInt otherMax,
                              OptionalInt combinedMax, OptionalInt rx, OptionalInt tx, OptionalInt other,
                              OptionalInt combined) {

    static EthtoolChannels parse(String ifname, NlAttributes a) throws DevmemProtocolException {
        return new EthtoolChannels(ifname, a.u32(CHANNELS_RX_MAX), a.u32(CHANNELS_TX_MAX),
                a.u32(CHANNELS_OTHER_MAX), a.u32(CHANNELS_COMBINED_MAX), a.u32(CHANNELS_RX_COUNT),
                a.u32(CHANNELS_TX_COUNT), a.u32(CHANNELS_OTHER_COUNT), a.u32(CHANNELS_COMBINED_COUNT));
    }

    /** Rx queues in use: combined channels plus rx-only ones. */
    public int rxQueues() {
        return combined.orElse(0) + rx.orElse(0);
    }

    /** Tx queues in use: combined channels plus tx-only ones. */
    public int txQueues() {
        return combined.orElse(0) + tx.orElse(0);
    }
}
