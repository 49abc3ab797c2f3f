package dev.devmem.ffm.netdev;

import java.util.Optional;

/** netdev's {@code queue-type}: each type has its own id space on an interface. */
public enum QueueType {
    RX(0), TX(1);

    private final int value;

    QueueType(int value) {
        this.value = value;
    }

    /** The number on the wire. */
    public int value() {
        return value;
    }

    /** The type for a wire value; empty for types newer than this library. */
    public static Optional<QueueType> of(int value) {
        return switch (value) {
            case 0 -> Optional.of(RX);
            case 1 -> Optional.of(TX);
            default -> Optional.empty();
        };
    }
}
