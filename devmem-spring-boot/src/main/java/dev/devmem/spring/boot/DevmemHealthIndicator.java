package dev.devmem.spring.boot;

import dev.devmem.api.spi.BackendAvailability;
import dev.devmem.api.spi.DevmemBackend;
import dev.devmem.reactor.DevmemReceiver;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;

/**
 * The {@code devmem} health component. DOWN, with the reason, when the backend cannot do devmem here
 * (the probe's answer for {@code linux}: no CONFIG_NET_DEVMEM, the errno it met...; {@code bin/devmem
 * doctor} tells per interface what is missing) or when the listener failed (a bind the kernel refused,
 * with its extack text). OUT_OF_SERVICE while the listener stops or once it stopped; UP otherwise.
 */
public class DevmemHealthIndicator implements HealthIndicator {
    private final DevmemBackend backend;
    private final DevmemReceiver receiver;
    private final DevmemListenerLifecycle listener;

    /** {@code receiver} and {@code listener} may be null: not configured. */
    public DevmemHealthIndicator(DevmemBackend backend, DevmemReceiver receiver, DevmemListenerLifecycle listener) {
        this.backend = backend;
        this.receiver = receiver;
        this.listener = listener;
    }

    @Override
    public Health health() {
        BackendAvailability availability = backend.availability();
        Health.Builder b;
        if (!availability.available()) {
            b = Health.down().withDetail("reason", availability.reason());
        } else if (listener == null) {
            b = Health.up();
        } else {
            b = switch (listener.state()) {
                case NEW, LISTENING -> Health.up();
                case FAILED -> Health.down().withDetail("reason", String.valueOf(listener.failure()));
                case STOPPING, STOPPED -> Health.outOfService();
            };
        }
        b.withDetail("backend", backend.name()).withDetail("availability", availability.reason());
        if (receiver != null) {
            b.withDetail("interface", receiver.interfaceName() == null ? "" : receiver.interfaceName())
                    .withDetail("rxQueues", receiver.rxQueues());
        }
        if (listener != null) {
            b.withDetail("listener", listener.state().name())
                    .withDetail("listen", listener.address().getHostString() + ":" + listener.address().getPort())
                    .withDetail("connections", listener.active().size())
                    .withDetail("accepted", listener.acceptedCount())
                    .withDetail("failed", listener.failedCount());
        }
        return b.build();
    }
}
