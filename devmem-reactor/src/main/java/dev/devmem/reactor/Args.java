package dev.devmem.reactor;

import dev.devmem.api.spi.DevmemBackend;

import java.time.Duration;
import java.util.Objects;

/**
 * The argument checks of the option setters, in one place so that an option the receiver and the
 * sender share is refused in the same words by both.
 */
final class Args {

    private Args() {
    }

    /** Takes ints too: a widened int prints the same digits. */
    static void atLeastOne(String name, long value) {
        if (value < 1) {
            throw new IllegalArgumentException(name + " must be >= 1, was " + value);
        }
    }

    /** {@code value} must not be null; the caller names it, as its parameter and option names differ. */
    static void notNegative(String name, Duration value) {
        if (value.isNegative()) {
            throw new IllegalArgumentException(name + " is negative");
        }
    }

    static void notBlank(String name, String value) {
        Objects.requireNonNull(value, name);
        if (value.isBlank()) {
            throw new IllegalArgumentException(name + " is blank");
        }
    }

    /**
     * Refused when the option is set rather than at subscription: a loop's waiter can only wait on
     * its own backend's sockets.
     */
    static void sameBackend(DevmemLoops loops, DevmemBackend backend) {
        Objects.requireNonNull(loops, "loops");
        if (loops.backend() != backend) {
            throw new IllegalArgumentException("loops of another backend");
        }
    }
}
