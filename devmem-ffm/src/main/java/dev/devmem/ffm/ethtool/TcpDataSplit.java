package dev.devmem.ffm.ethtool;

import java.util.Optional;

/**
 * ethtool's {@code tcp-data-split} ring parameter: whether the NIC writes packet headers and TCP
 * payload to separate buffers. devmem RX needs {@link #ENABLED}, set explicitly: {@link #UNKNOWN}
 * (the driver decides, "auto") is refused by bind-rx even when the driver would split.
 */
public enum TcpDataSplit {
    /** 0: not reported, or left to the driver ("auto" when set). */
    UNKNOWN(0),
    /** 1: headers and payload share buffers. */
    DISABLED(1),
    /** 2: headers go to host memory, payload to the rx queue's memory provider. */
    ENABLED(2);

    private final int value;

    TcpDataSplit(int value) {
        this.value = value;
    }

    /** The u8 on the wire. */
    public int value() {
        return value;
    }

    /** The constant for a wire value; empty for a value newer than this library. */
    public static Optional<TcpDataSplit> of(int value) {
        for (TcpDataSplit t : values()) {
            if (t.value == value) {
                return Optional.of(t);
            }
        }
        return Optional.empty();
    }

    /** Lower-case name as ethtool prints it: {@code unknown}, {@code disabled}, {@code enabled}. */
    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
