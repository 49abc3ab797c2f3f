package dev.devmem.samples.ingest;

import dev.devmem.spring.boot.DevmemListenerLifecycle;
import org.springframework.boot.actuate.autoconfigure.endpoint.condition.ConditionalOnAvailableEndpoint;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

/**
 * The sample's own beans. Everything devmem (backend, receiver, listener lifecycle, health, meters)
 * comes from {@code devmem-spring-boot-starter} and {@code devmem.*}; the service is the starter's
 * {@code DevmemConnectionHandler}: defining it is what starts the listener.
 */
@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties(IngestProperties.class)
public class IngestConfiguration {

    /**
     * Where frags are checksummed: CPU-bound work, so a bounded parallel scheduler (never the devmem I/O
     * thread, and not boundedElastic, which is for blocking calls). Disposed on shutdown, after the
     * starter's listener stopped (lifecycles stop before beans are destroyed).
     */
    @Bean(destroyMethod = "dispose")
    public Scheduler ingestScheduler(IngestProperties properties) {
        return Schedulers.newParallel("ingest", properties.processing().threads(), true);
    }

    @Bean
    public IngestService ingestService(IngestProperties properties, Scheduler ingestScheduler) {
        return new IngestService(properties, ingestScheduler);
    }

    @Bean
    @ConditionalOnAvailableEndpoint
    public IngestEndpoint ingestEndpoint(IngestService service, DevmemListenerLifecycle listener) {
        return new IngestEndpoint(service, listener);
    }
}
