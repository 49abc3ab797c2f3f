package dev.devmem.samples.ingest;

import jakarta.validation.Valid;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.validation.annotation.Validated;

/**
 * What the ingest service adds to the starter's {@code devmem.*}: how frags are processed and how many
 * results it keeps, {@code devmem.ingest.*}. Bound once at startup and validated: a wrong value stops
 * the application with a report naming the property.
 *
 * @param processing      how frags are processed off the I/O thread
 * @param retainedResults how many finished connections the service keeps for the ingest endpoint
 */
@ConfigurationProperties("devmem.ingest")
@Validated
public record IngestProperties(
        @DefaultValue @Valid Processing processing,
        @DefaultValue("100") @Min(1) @Max(100_000) int retainedResults) {

    /**
     * Frag processing. Frags arrive on the devmem I/O loop thread; the service hands them to a parallel
     * scheduler of {@code threads} workers, through a queue of at most {@code prefetch} frags per
     * connection, and releases each one once it is processed. How many connections are processed at
     * once is the listener's {@code devmem.listener.max-connections}.
     *
     * @param threads  workers that checksum frags (each connection is processed in order on one)
     * @param prefetch frags queued per connection between the I/O thread and its worker (the demand the
     *                 worker signals upstream; the token budget still bounds what is held)
     */
    public record Processing(
            @DefaultValue("2") @Min(1) @Max(256) int threads,
            @DefaultValue("256") @Min(1) @Max(65536) int prefetch) {
    }
}
