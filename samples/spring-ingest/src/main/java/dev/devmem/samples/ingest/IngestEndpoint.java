package dev.devmem.samples.ingest;

import dev.devmem.spring.boot.DevmemListenerLifecycle;
import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.actuate.endpoint.annotation.ReadOperation;
import org.springframework.boot.actuate.endpoint.annotation.Selector;

import java.util.List;

/**
 * The actuator endpoint {@code ingest} ({@code /actuator/ingest}): what the listener is doing, the
 * connections being received (with the library's live token ledger) and the last finished ones, with
 * their byte counts and CRC32C. {@code /actuator/health} (the starter's {@code devmem} component) and
 * {@code /actuator/prometheus} (the library's {@code devmem_*} meters) tell the rest.
 */
@Endpoint(id = "ingest")
public class IngestEndpoint {
    private final IngestService service;
    private final DevmemListenerLifecycle listener;

    public IngestEndpoint(IngestService service, DevmemListenerLifecycle listener) {
        this.service = service;
        this.listener = listener;
    }

    /**
     * @param state      what the listener is doing
     * @param failure    why listening failed, for state FAILED
     * @param listen     the listen address
     * @param receiver   the receiver's configuration (backend, binding, budget)
     * @param completed  connections that ended with the peer's close, every byte processed
     * @param failed     connections that failed
     * @param cancelled  connections cut by a shutdown
     * @param active     connections being received
     * @param recent     the last finished connections, oldest first
     */
    public record Report(DevmemListenerLifecycle.State state, String failure, String listen, String receiver,
                         long completed, long failed, long cancelled, List<IngestService.ActiveConnection> active,
                         List<ConnectionResult> recent) {
    }

    @ReadOperation
    public Report report() {
        Throwable f = listener.failure();
        return new Report(listener.state(), f == null ? null : String.valueOf(f), String.valueOf(listener.address()),
                String.valueOf(listener.receiver()), service.completedCount(), service.failedCount(),
                service.cancelledCount(), service.active(), service.recent());
    }

    /** One finished connection by id ({@code null}, i.e. not found, when it is unknown or no longer retained). */
    @ReadOperation
    public ConnectionResult connection(@Selector long id) {
        return service.recent().stream().filter(r -> r.id() == id).findFirst().orElse(null);
    }
}
