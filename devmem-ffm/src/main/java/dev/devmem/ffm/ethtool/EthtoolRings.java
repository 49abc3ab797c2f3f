package dev.devmem.ffm.ethtool;

import dev.devmem.api.DevmemProtocolException;
import dev.devmem.ffm.netlink.NlAttributes;

import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;

import static dev.devmem.ffm.ethtool.EthtoolSpec.*;

/**
 * An interface's ring parameters as {@code rings-get} reports them ({@code ethtool -g}). The kernel
 * leaves an attribute out when the driver has nothing to say: {@code tcp-data-split} only when the
 * driver reports a state other than "unknown", {@code hds-thresh} only when it has a maximum.
 *
 * @param tcpDataSplit the header-split state; empty when not reported (the driver may not split)
 * @param hdsThresh    header-data-split threshold in bytes (devmem needs 0); empty when not reported
 * @param hdsThreshMax the largest threshold the driver accepts
 * @param rxBufLen     rx buffer size in bytes, when the driver reports it
 */
public record EthtoolRings(String ifname, OptionalInt rxMax, OptionalInt rxMiniMax, OptionalInt rxJumboMax,
                           OptionalInt txMax, OptionalInt rx, OptionalInt rxMini, OptionalInt rxJumbo, OptionalInt tx,
                           OptionalInt rxBufLen, Optional<TcpDataSplit> tcpDataSplit, OptionalInt cqeSize,
                           OptionalLong hdsThresh, OptionalLong hdsThreshMax) {

    static EthtoolRings parse(String ifname, NlAttributes a) throws DevmemProtocolException {
        OptionalInt split = a.u8(RINGS_TCP_DATA_SPLIT);
        return new EthtoolRings(ifname, a.u32(RINGS_RX_MAX), a.u32(RINGS_RX_MINI_MAX), a.u32(RINGS_RX_JUMBO_MAX),
                a.u32(RINGS_TX_MAX), a.u32(RINGS_RX), a.u32(RINGS_RX_MINI), a.u32(RINGS_RX_JUMBO), a.u32(RINGS_TX),
                a.u32(RINGS_RX_BUF_LEN),
                split.isPresent() ? TcpDataSplit.of(split.getAsInt()) : Optional.empty(),
                a.u32(RINGS_CQE_SIZE), unsigned(a.u32(RINGS_HDS_THRESH)), unsigned(a.u32(RINGS_HDS_THRESH_MAX)));
    }

    private static OptionalLong unsigned(OptionalInt v) {
        return v.isPresent() ? OptionalLong.of(Integer.toUnsignedLong(v.getAsInt())) : OptionalLong.empty();
    }

    /** Whether bind-rx's ring checks pass as things are: tcp-data-split enabled and hds-thresh 0 (or unreported). */
    public boolean readyForDevmem() {
        return tcpDataSplit.filter(TcpDataSplit.ENABLED::equals).isPresent()
                && (hdsThresh.isEmpty() || hdsThresh.getAsLong() == 0);
    }
}
