package dev.devmem.api.spi;

import java.util.Objects;

/**
 * Whether a backend can run here and, when not, why (the probe's cause, not a guess).
 *
 * @param available whether the backend can be used
 * @param reason    a one-line reason; for an available backend, what it runs on
 */
public record BackendAvailability(boolean available, String reason) {
    public BackendAvailability {
        Objects.requireNonNull(reason, "reason");
    }

    public static BackendAvailability yes(String what) {
        return new BackendAvailability(true, what);
    }

    public static BackendAvailability no(String why) {
        return new BackendAvailability(false, why);
    }
}
