package dev.devmem.samples.ingest;

import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.actuate.endpoint.annotation.ReadOperation;
import org.springframework.boot.actuate.endpoint.annotation.Selector;

import java.util.List;

/**
 * The actuator endpoint {@code devmem}: what the ingest service is doing, its connections being
 * received (with the library's live token ledger) and the last finished ones. Exposed over JMX by
 * default ({@code org.springframework.boot:type=Endpoint,name=Devmem}); with a web starter on the
 * class path, {@code management.endpoints.web.exposure.include=devmem} serves it at
 * {@code /actuator/devmem}.
 */
@Endpoint(id = "devmem")
public class IngestEndpoint {
    private final IngestService service;

    public IngestEndpoint(IngestService service) {
        this.service = service;
    }

    /**
     * @param state      what the service is doing
     * @param failure    why listening failed, for state FAILED
     * @param listen     the listen address
     * @param receiver   the receiver's configuration (backend, binding, budget)
     * @param completed  connections that ended with the peer's close, every byte processed
     * @param failed     connections that failed
     * @param cancelled  connections cut by a shutdown
     * @param active     connections being received
     * @param recent     the last finished connections, oldest first
     */
    public record Report(IngestService.State state, String failure, String listen, String receiver, long completed,
                         long failed, long cancelled, List<IngestService.ActiveConnection> active,
                         List<ConnectionResult> recent) {
    }

    @ReadOperation
    public Report report() {
        Throwable f = service.failure();
        return new Report(service.state(), f == null ? null : String.valueOf(f), String.valueOf(service.address()),
                String.valueOf(service.receiver()), service.completedCount(), service.failedCount(),
                service.cancelledCount(), service.active(), service.recent());
    }

    /** One finished connection by id ({@code null}, i.e. not found, when it is unknown or no longer retained). */
    @ReadOperation
    public ConnectionResult connection(@Selector long id) {
        return service.recent().stream().filter(r -> r.id() == id).findFirst().orElse(null);
    }
}
