package dev.devmem.samples.ingest;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;

/**
 * A devmem TCP ingest service on {@code devmem-spring-boot-starter}: the starter's listener accepts
 * connections on {@code devmem.listener.port} and hands each to {@link IngestService}, which receives it
 * into device memory, checksums it off the I/O thread and records the result. Actuator over HTTP
 * (WebFlux on Reactor Netty): {@code /actuator/health}, {@code /actuator/prometheus},
 * {@code /actuator/ingest}. See README.md.
 */
@SpringBootApplication
public class IngestApplication {

    public static void main(String[] args) {
        SpringApplication.run(IngestApplication.class, args);
    }
}
