package dev.devmem.samples.ingest;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;

/**
 * A devmem TCP ingest service: accepts connections on {@code devmem.ingest.port}, receives each one
 * into device memory through {@code DevmemReceiver}, checksums it off the I/O thread and shows the
 * results in the actuator endpoint {@code devmem}. See README.md.
 */
@SpringBootApplication
public class IngestApplication {

    public static void main(String[] args) {
        SpringApplication.run(IngestApplication.class, args);
    }
}
