package dev.devmem.samples.ingest;

import dev.devmem.api.DevmemException;
import dev.devmem.api.spi.BackendAvailability;
import dev.devmem.api.spi.DevmemBackend;
import dev.devmem.ffm.DevmemBackends;
import dev.devmem.ffm.emulated.EmulatedNicConfig;
import dev.devmem.ffm.emulated.FlowSteering;
import dev.devmem.reactor.DevmemReceiver;
import dev.devmem.reactor.NicSetup;
import io.micrometer.core.instrument.MeterRegistry;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.actuate.autoconfigure.endpoint.condition.ConditionalOnAvailableEndpoint;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

/**
 * The beans: the devmem backend, a receiver configured from {@code devmem.ingest.*} that records its
 * meters in Spring's {@link MeterRegistry}, the processing scheduler and the ingest service with its
 * actuator endpoint and health indicator.
 */
@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties(IngestProperties.class)
public class IngestConfiguration {

    /**
     * The emulated devmem NIC (its queues steered like a real NIC set up by the library: the listen
     * port's flows to the first bound queue, RSS over the queues below it), or the running kernel.
     * Spring closes it on shutdown (the inferred destroy method: {@code EmulatedBackend.close()}
     * unbinds whatever is left and unmaps the dmabuf once its buffers are back; the Linux backend
     * holds nothing itself).
     */
    @Bean
    public DevmemBackend devmemBackend(IngestProperties properties) throws DevmemException {
        return switch (properties.backend()) {
            case EMULATED -> {
                IngestProperties.Emulated e = properties.emulated();
                int devmemQueue = properties.rxQueues().getFirst();
                FlowSteering others = devmemQueue == 0 ? FlowSteering.rss()
                        : (local, remote, count) -> FlowSteering.rss().queueFor(local, remote, devmemQueue);
                yield DevmemBackends.emulated(EmulatedNicConfig.defaults()
                        .withInterfaceName(properties.binds() ? properties.interfaceName() : "emu0")
                        .withRxQueues(e.rxQueues())
                        .withFragSize(e.fragSize())
                        .withHeaderSplitFailures(e.headerSplitFailureRate(), e.seed())
                        .withFlowSteering(FlowSteering.localPort(properties.port(), devmemQueue, others)));
            }
            case LINUX -> {
                DevmemBackend linux = DevmemBackends.linux();
                BackendAvailability a = linux.availability();
                if (properties.binds() && !a.available()) {
                    throw new IllegalStateException("devmem.ingest.backend=linux, but devmem RX is not available"
                            + " here: " + a.reason() + " (bin/devmem doctor tells what is missing)");
                }
                yield linux;
            }
        };
    }

    /** Immutable configuration; nothing is bound until the ingest service subscribes. */
    @Bean
    public DevmemReceiver devmemReceiver(DevmemBackend backend, IngestProperties properties,
                                         ObjectProvider<MeterRegistry> meterRegistry) {
        DevmemReceiver receiver = DevmemReceiver.create(backend)
                .fragSize(properties.fragSize())
                .closeGracePeriod(properties.closeGracePeriod());
        if (properties.binds()) {
            receiver = receiver.interfaceName(properties.interfaceName())
                    .rxQueues(properties.rxQueues().toArray(Integer[]::new))
                    .dmabuf(properties.dmabuf().toDmabufSource());
        }
        if (properties.tokenBudget() != null) {
            receiver = receiver.tokenBudget(properties.tokenBudget());
        }
        if (properties.nicSetup()) {
            receiver = receiver.nicSetup(NicSetup.kernel());
        }
        MeterRegistry registry = meterRegistry.getIfAvailable();
        return registry == null ? receiver : receiver.meterRegistry(registry);
    }

    /**
     * Where frags are checksummed: CPU-bound work, so a bounded parallel scheduler (never the devmem
     * I/O thread, and not boundedElastic, which is for blocking calls). Disposed on shutdown, after the
     * ingest service stopped.
     */
    @Bean(destroyMethod = "dispose")
    public Scheduler ingestScheduler(IngestProperties properties) {
        return Schedulers.newParallel("ingest", properties.processing().threads(), true);
    }

    @Bean
    public IngestService ingestService(DevmemReceiver receiver, IngestProperties properties,
                                       Scheduler ingestScheduler) {
        return new IngestService(receiver, properties, ingestScheduler);
    }

    @Bean
    @ConditionalOnAvailableEndpoint
    public IngestEndpoint ingestEndpoint(IngestService service) {
        return new IngestEndpoint(service);
    }

    @Bean
    public IngestHealthIndicator devmemIngestHealthIndicator(IngestService service) {
        return new IngestHealthIndicator(service);
    }
}
