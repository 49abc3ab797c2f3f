package dev.devmem.ffm.ethtool;

import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;

/**
 * What a {@code rings-set} changes; every parameter left empty stays as it is. Immutable: each
 * {@code with...} returns a copy.
 *
 * <pre>{@code RingsChange.none().withTcpDataSplit(TcpDataSplit.ENABLED).withHdsThresh(0)}</pre>
 */
public record RingsChange(Optional<TcpDataSplit> tcpDataSplit, OptionalLong hdsThresh, OptionalInt rxBufLen,
                          OptionalInt rx, OptionalInt tx) {

    public RingsChange {
        Objects.requireNonNull(tcpDataSplit, "tcpDataSplit");
        Objects.requireNonNull(hdsThresh, "hdsThresh");
        Objects.requireNonNull(rxBufLen, "rxBufLen");
        Objects.requireNonNull(rx, "rx");
        Objects.requireNonNull(tx, "tx");
        if (hdsThresh.isPresent() && (hdsThresh.getAsLong() < 0 || hdsThresh.getAsLong() > 0xFFFF_FFFFL)) {
            throw new IllegalArgumentException("hds-thresh is a u32, was " + hdsThresh.getAsLong());
        }
    }

    /** A change of nothing, to add parameters to. */
    public static RingsChange none() {
        return new RingsChange(Optional.empty(), OptionalLong.empty(), OptionalInt.empty(), OptionalInt.empty(),
                OptionalInt.empty());
    }

    public RingsChange withTcpDataSplit(TcpDataSplit split) {
        return new RingsChange(Optional.of(split), hdsThresh, rxBufLen, rx, tx);
    }

    public RingsChange withHdsThresh(long bytes) {
        return new RingsChange(tcpDataSplit, OptionalLong.of(bytes), rxBufLen, rx, tx);
    }

    public RingsChange withRxBufLen(int bytes) {
        return new RingsChange(tcpDataSplit, hdsThresh, OptionalInt.of(bytes), rx, tx);
    }

    public RingsChange withRx(int entries) {
        return new RingsChange(tcpDataSplit, hdsThresh, rxBufLen, OptionalInt.of(entries), tx);
    }

    public RingsChange withTx(int entries) {
        return new RingsChange(tcpDataSplit, hdsThresh, rxBufLen, rx, OptionalInt.of(entries));
    }

    public boolean isEmpty() {
        return tcpDataSplit.isEmpty() && hdsThresh.isEmpty() && rxBufLen.isEmpty() && rx.isEmpty() && tx.isEmpty();
    }
}
