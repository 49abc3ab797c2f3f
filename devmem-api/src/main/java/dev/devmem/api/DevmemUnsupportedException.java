package dev.devmem.api;

import java.util.Optional;

/**
 * The running kernel, device or platform cannot do what was asked, e.g. a kernel without the
 * {@code netdev} family (devmem RX needs Linux 6.12) or without {@code bind-tx} (Linux 6.16).
 */
public class DevmemUnsupportedException extends DevmemException {
    private static final long serialVersionUID = 1L;

    private final String feature;
    private final String requiredKernel;

    public DevmemUnsupportedException(String feature, String requiredKernel, String message) {
        super(message);
        this.feature = feature;
        this.requiredKernel = requiredKernel;
    }

    public DevmemUnsupportedException(String feature, String requiredKernel, String message, Throwable cause) {
        super(message, cause);
        this.feature = feature;
        this.requiredKernel = requiredKernel;
    }

    /** What is missing, e.g. {@code netdev bind-tx}. */
    public String feature() {
        return feature;
    }

    /** The first Linux release that has the feature, e.g. {@code 6.16}, when a kernel upgrade fixes it. */
    public Optional<String> requiredKernel() {
        return Optional.ofNullable(requiredKernel);
    }
}
