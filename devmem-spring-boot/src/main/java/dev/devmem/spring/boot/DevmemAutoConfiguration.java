package dev.devmem.spring.boot;

import dev.devmem.api.DevmemException;
import dev.devmem.api.spi.DevmemBackend;
import dev.devmem.reactor.DevmemLoops;
import dev.devmem.reactor.DevmemReceiver;
import dev.devmem.reactor.DevmemSender;
import io.micrometer.core.instrument.MeterRegistry;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnExpression;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.health.autoconfigure.contributor.ConditionalOnEnabledHealthIndicator;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * devmem for a Spring Boot application, from {@code devmem.*} ({@link DevmemProperties}):
 * <ul>
 * <li>a {@link DevmemBackend}: the emulated devmem NIC by default, or the running kernel
 *     ({@code devmem.backend=linux}); closed with the context;</li>
 * <li>a {@link DevmemReceiver} and a {@link DevmemSender} ({@code devmem.receiver.enabled},
 *     {@code devmem.sender.enabled}), recording the library's meters in Spring's {@link MeterRegistry}
 *     when there is one;</li>
 * <li>with a {@link DevmemConnectionHandler} bean, a {@link DevmemListenerLifecycle} that accepts
 *     connections while the application runs and drains them on shutdown;</li>
 * <li>with Spring Boot's health support, the {@code devmem} health component.</li>
 * </ul>
 * Every bean backs off when the application defines one of its type.
 *
 * <p>The meter registry is looked up when the beans are created, not as a condition, so this
 * configuration needs no ordering against the metrics auto-configuration.
 */
@AutoConfiguration
@ConditionalOnClass(DevmemReceiver.class)
@EnableConfigurationProperties(DevmemProperties.class)
public class DevmemAutoConfiguration {

    /**
     * The emulated NIC or the running kernel. Spring closes it with the context, after every lifecycle
     * stopped (the inferred destroy method: the emulated backend unbinds what is left and unmaps the
     * dmabuf once its buffers are back; the Linux backend holds nothing itself).
     */
    @Bean
    @ConditionalOnMissingBean
    public DevmemBackend devmemBackend(DevmemProperties properties) throws DevmemException {
        return DevmemBeanFactory.backend(properties);
    }

    /** Loops shared by the receiver and the sender, when {@code devmem.loops.threads} is set (not 0); stopped with the context. */
    @Bean(destroyMethod = "dispose")
    @ConditionalOnMissingBean
    @ConditionalOnExpression("'${devmem.loops.threads:0}' != '0'")
    public DevmemLoops devmemLoops(DevmemBackend backend, DevmemProperties properties) throws DevmemException {
        return DevmemBeanFactory.loops(backend, properties);
    }

    @Bean
    @ConditionalOnMissingBean
    @ConditionalOnBooleanProperty(name = "devmem.receiver.enabled", matchIfMissing = true)
    public DevmemReceiver devmemReceiver(DevmemBackend backend, DevmemProperties properties,
                                         ObjectProvider<DevmemLoops> loops, ObjectProvider<MeterRegistry> registry) {
        return DevmemBeanFactory.receiver(backend, properties, loops.getIfUnique(), registry.getIfUnique());
    }

    @Bean
    @ConditionalOnMissingBean
    @ConditionalOnBooleanProperty(name = "devmem.sender.enabled", matchIfMissing = true)
    public DevmemSender devmemSender(DevmemBackend backend, DevmemProperties properties,
                                     ObjectProvider<DevmemLoops> loops, ObjectProvider<MeterRegistry> registry) {
        return DevmemBeanFactory.sender(backend, properties, loops.getIfUnique(), registry.getIfUnique());
    }

    @Bean
    @ConditionalOnMissingBean
    @ConditionalOnBean({DevmemReceiver.class, DevmemConnectionHandler.class})
    public DevmemListenerLifecycle devmemListener(DevmemReceiver receiver, DevmemConnectionHandler handler,
                                                  DevmemProperties properties) {
        DevmemProperties.Listener l = DevmemBeanFactory.listener(properties);
        return new DevmemListenerLifecycle(receiver, handler, l.socketAddress(), l.maxConnections(),
                l.shutdownTimeout());
    }

    /** The {@code devmem} health component, when Spring Boot's health support is there. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(HealthIndicator.class)
    @ConditionalOnEnabledHealthIndicator("devmem")
    static class HealthConfiguration {

        @Bean
        @ConditionalOnMissingBean(name = "devmemHealthIndicator")
        DevmemHealthIndicator devmemHealthIndicator(DevmemBackend backend, ObjectProvider<DevmemReceiver> receiver,
                                                    ObjectProvider<DevmemListenerLifecycle> listener) {
            return new DevmemHealthIndicator(backend, receiver.getIfUnique(), listener.getIfUnique());
        }
    }
}
