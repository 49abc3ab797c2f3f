package dev.devmem.samples.ingest;

import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;

/** UP while the service listens; DOWN with the cause once listening failed (e.g. the bind was refused). */
public class IngestHealthIndicator implements HealthIndicator {
    private final IngestService service;

    public IngestHealthIndicator(IngestService service) {
        this.service = service;
    }

    @Override
    public Health health() {
        Health.Builder b = switch (service.state()) {
            case LISTENING -> Health.up();
            case FAILED -> Health.down(asException(service.failure()));
            case NEW, STOPPING, STOPPED -> Health.outOfService();
        };
        return b.withDetail("listen", String.valueOf(service.address()))
                .withDetail("active", service.active().size())
                .withDetail("completed", service.completedCount())
                .withDetail("failed", service.failedCount())
                .build();
    }

    private static Exception asException(Throwable t) {
        return t instanceof Exception e ? e : new RuntimeException(t);
    }
}
