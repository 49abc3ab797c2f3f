package dev.devmem.spring.boot;

import dev.devmem.api.DmabufSource;
import dev.devmem.api.spi.BackendAvailability;
import dev.devmem.api.spi.DevmemBackend;
import dev.devmem.ffm.DevmemBackends;
import dev.devmem.ffm.emulated.EmulatedBackend;
import dev.devmem.ffm.emulated.EmulatedNicConfig;
import dev.devmem.reactor.DevmemLoops;
import dev.devmem.reactor.DevmemReceiver;
import dev.devmem.reactor.DevmemSender;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.context.properties.source.InvalidConfigurationPropertyValueException;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.Status;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The auto-configuration in an {@link ApplicationContextRunner}: which beans each property gives, that
 * the application's own beans win, and that a wrong value stops the context naming the property. The
 * backends are real (the emulated NIC; the running kernel for {@code linux}).
 */
class DevmemAutoConfigurationTest {
    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(DevmemAutoConfiguration.class));

    @Test
    void defaultsAreTheLibrarysOnTheEmulatedNic() {
        runner.run(context -> {
            assertThat(context).hasNotFailed().hasSingleBean(DevmemBackend.class).hasSingleBean(DevmemReceiver.class)
                    .hasSingleBean(DevmemSender.class).hasSingleBean(DevmemHealthIndicator.class)
                    .doesNotHaveBean(DevmemLoops.class)
                    .as("no handler, no listener").doesNotHaveBean(DevmemListenerLifecycle.class);
            EmulatedBackend backend = context.getBean(EmulatedBackend.class);
            assertThat(backend.nic().config().interfaceName()).isEqualTo("emu0");
            assertThat(backend.nic().config().rxQueues()).isEqualTo(4);

            DevmemReceiver r = context.getBean(DevmemReceiver.class);
            assertThat(r.backend()).isSameAs(backend);
            assertThat(r.interfaceName()).isEqualTo("emu0");
            assertThat(r.rxQueues()).containsExactly(3);
            assertThat(r.dmabuf()).isEqualTo(DmabufSource.emulated(64L << 20));
            assertThat(r.tokenBudget()).as("derived at subscription").isZero();
            assertThat(r.batchSize()).isEqualTo(DevmemReceiver.Defaults.BATCH_SIZE);
            assertThat(r.ioThreads()).isEqualTo(DevmemReceiver.Defaults.IO_THREADS);
            assertThat(r.backlog()).isEqualTo(DevmemReceiver.Defaults.BACKLOG);
            assertThat(r.fragSize()).isEqualTo(DevmemReceiver.Defaults.FRAG_SIZE);
            assertThat(r.releaseFlushDelay()).isEqualTo(DevmemReceiver.Defaults.RELEASE_FLUSH_DELAY);
            assertThat(r.closeGracePeriod()).isEqualTo(DevmemReceiver.Defaults.CLOSE_GRACE_PERIOD);
            assertThat(r.nicSetup()).isEqualTo(dev.devmem.reactor.NicSetup.none());
            assertThat(r.meterRegistry()).as("no registry in this context").isNull();

            DevmemSender s = context.getBean(DevmemSender.class);
            assertThat(s.backend()).isSameAs(backend);
            assertThat(s.interfaceName()).isEqualTo("emu0");
            assertThat(s.maxInFlightBytes()).isEqualTo(DevmemSender.Defaults.MAX_IN_FLIGHT_BYTES);
            assertThat(s.ioThreads()).isEqualTo(DevmemSender.Defaults.IO_THREADS);
            assertThat(s.closeGracePeriod()).isEqualTo(DevmemSender.Defaults.CLOSE_GRACE_PERIOD);
            assertThat(s.copyFallback()).isFalse();

            Health health = context.getBean(DevmemHealthIndicator.class).health();
            assertThat(health.getStatus()).isEqualTo(Status.UP);
            assertThat(health.getDetails()).containsEntry("backend", "emulated").containsEntry("interface", "emu0");
        });
    }

    @Test
    void theBackendBeanIsClosedWithTheContext() {
        EmulatedBackend[] backend = new EmulatedBackend[1];
        runner.run(context -> backend[0] = context.getBean(EmulatedBackend.class));
        assertThat(backend[0].nic().liveBindings()).isEmpty();
        assertThat(org.assertj.core.api.Assertions.catchThrowable(
                () -> backend[0].nic().bindRx(List.of(0), DmabufSource.emulated(1 << 20))))
                .as("a closed NIC binds nothing").isNotNull();
    }

    @Test
    void everyPropertyReachesTheBeans() {
        runner.withPropertyValues("devmem.receiver.interface-name=emu7", "devmem.receiver.rx-queues=6,7",
                        "devmem.emulated.rx-queues=8", "devmem.emulated.frag-size=8192",
                        "devmem.receiver.dmabuf.source=udmabuf", "devmem.receiver.dmabuf.size=32MB",
                        "devmem.receiver.token-budget=1000", "devmem.receiver.batch-size=64",
                        "devmem.receiver.io-threads=2", "devmem.receiver.release-flush-delay=0",
                        "devmem.receiver.close-grace-period=7s", "devmem.receiver.backlog=16",
                        "devmem.sender.interface-name=emu7", "devmem.sender.max-in-flight=1MB",
                        "devmem.sender.copy-fallback=true", "devmem.sender.close-grace-period=1s",
                        "devmem.sender.dmabuf.size=8MB", "devmem.loops.threads=2")
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    EmulatedBackend backend = context.getBean(EmulatedBackend.class);
                    assertThat(backend.nic().config().interfaceName()).isEqualTo("emu7");
                    assertThat(backend.nic().config().rxQueues()).isEqualTo(8);
                    assertThat(backend.nic().config().fragSize()).isEqualTo(8192);
                    DevmemLoops loops = context.getBean(DevmemLoops.class);
                    assertThat(loops.threads()).isEqualTo(2);
                    DevmemReceiver r = context.getBean(DevmemReceiver.class);
                    assertThat(r.interfaceName()).isEqualTo("emu7");
                    assertThat(r.rxQueues()).containsExactly(6, 7);
                    assertThat(r.dmabuf()).isEqualTo(DmabufSource.udmabuf(32L << 20));
                    assertThat(r.fragSize()).isEqualTo(8192);
                    assertThat(r.tokenBudget()).isEqualTo(1000);
                    assertThat(r.batchSize()).isEqualTo(64);
                    assertThat(r.ioThreads()).isEqualTo(2);
                    assertThat(r.releaseFlushDelay()).isZero();
                    assertThat(r.closeGracePeriod()).isEqualTo(Duration.ofSeconds(7));
                    assertThat(r.backlog()).isEqualTo(16);
                    assertThat(r.loops()).isSameAs(loops);
                    DevmemSender s = context.getBean(DevmemSender.class);
                    assertThat(s.maxInFlightBytes()).isEqualTo(1L << 20);
                    assertThat(s.copyFallback()).isTrue();
                    assertThat(s.closeGracePeriod()).isEqualTo(Duration.ofSeconds(1));
                    assertThat(s.dmabuf()).isEqualTo(DmabufSource.emulated(8L << 20));
                    assertThat(s.loops()).isSameAs(loops);
                });
    }

    @Test
    void noInterfaceMeansNoBinding() {
        runner.withPropertyValues("devmem.receiver.interface-name=").run(context -> {
            assertThat(context).hasNotFailed();
            assertThat(context.getBean(DevmemReceiver.class).bindingSpec()).isNull();
        });
    }

    @Test
    void theReceiverAndTheSenderAreThereOnlyWhenEnabled() {
        runner.withPropertyValues("devmem.receiver.enabled=false").run(context -> assertThat(context)
                .hasNotFailed().doesNotHaveBean(DevmemReceiver.class).hasSingleBean(DevmemSender.class));
        runner.withPropertyValues("devmem.sender.enabled=false").run(context -> assertThat(context)
                .hasNotFailed().hasSingleBean(DevmemReceiver.class).doesNotHaveBean(DevmemSender.class));
        runner.withPropertyValues("devmem.receiver.enabled=false").withUserConfiguration(Handler.class)
                .run(context -> assertThat(context).as("a handler without a receiver: no listener")
                        .hasNotFailed().doesNotHaveBean(DevmemListenerLifecycle.class));
    }

    @Test
    void aConnectionHandlerBeanStartsTheListener() {
        runner.withUserConfiguration(Handler.class).withPropertyValues("devmem.listener.port=" + freePort())
                .run(context -> {
                    assertThat(context).hasNotFailed().hasSingleBean(DevmemListenerLifecycle.class);
                    DevmemListenerLifecycle listener = context.getBean(DevmemListenerLifecycle.class);
                    assertThat(listener.isRunning()).isTrue();
                    assertThat(listener.state()).isEqualTo(DevmemListenerLifecycle.State.LISTENING);
                    assertThat(context.getBean(DevmemHealthIndicator.class).health().getDetails())
                            .containsEntry("listener", "LISTENING");
                });
    }

    @Test
    void theApplicationsBeansWin() {
        runner.withUserConfiguration(OwnBeans.class).run(context -> {
            assertThat(context).hasNotFailed();
            EmulatedBackend own = context.getBean(EmulatedBackend.class);
            assertThat(own.nic().config().interfaceName()).isEqualTo("mine0");
            assertThat(context).getBeans(DevmemBackend.class).hasSize(1);
            assertThat(context.getBean(DevmemReceiver.class).batchSize()).as("the application's receiver").isEqualTo(7);
            assertThat(context.getBean(DevmemSender.class).backend()).as("built on the application's backend")
                    .isSameAs(own);
        });
    }

    @Test
    void theMetersGoToSpringsRegistry() {
        runner.withBean(MeterRegistry.class, SimpleMeterRegistry::new).run(context -> {
            MeterRegistry registry = context.getBean(MeterRegistry.class);
            assertThat(context.getBean(DevmemReceiver.class).meterRegistry()).isSameAs(registry);
            assertThat(context.getBean(DevmemSender.class).meterRegistry()).isSameAs(registry);
        });
    }

    @Test
    void theMetersNameTagIsTheInterfaceUnlessNamed() {
        runner.run(context -> {
            assertThat(context.getBean(DevmemReceiver.class).name()).isEqualTo("emu0");
            assertThat(context.getBean(DevmemSender.class).name()).isEqualTo("emu0");
        });
        runner.withPropertyValues("devmem.receiver.name=ingest", "devmem.sender.name=replica").run(context -> {
            assertThat(context.getBean(DevmemReceiver.class).name()).isEqualTo("ingest");
            assertThat(context.getBean(DevmemSender.class).name()).isEqualTo("replica");
        });
    }

    /**
     * Two receivers record into Spring's one registry, each flow over real loopback TCP: the configured
     * one ("ingest", bound, DMABUF frags) and a second made from it ("audit", no binding, HOST frags).
     * The name tag keeps their counts apart.
     */
    @Test
    void twoReceiversInOneRegistryAreToldApartByTheirNameTag() {
        int ingestPort = freePort();
        int auditPort = freePort();
        int ingestBytes = 300_000;
        int auditBytes = 100_000;
        runner.withBean(MeterRegistry.class, SimpleMeterRegistry::new).withUserConfiguration(Handler.class)
                .withPropertyValues("devmem.receiver.name=ingest", "devmem.listener.port=" + ingestPort)
                .run(context -> {
                    MeterRegistry registry = context.getBean(MeterRegistry.class);
                    DevmemReceiver audit = context.getBean(DevmemReceiver.class).name("audit").noBinding();
                    java.util.concurrent.CompletableFuture<Long> audited = audit
                            .receiveOne(new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), auditPort))
                            .map(f -> {
                                int length = f.length();
                                f.release();
                                return (long) length;
                            })
                            .reduce(0L, Long::sum)
                            .toFuture();
                    send(ingestPort, ingestBytes);
                    send(auditPort, auditBytes);
                    assertThat(audited.get(60, java.util.concurrent.TimeUnit.SECONDS)).isEqualTo(auditBytes);
                    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(60))
                            .until(() -> received(registry, "ingest", null) == ingestBytes);
                    assertThat(received(registry, "ingest", "dmabuf")).as("bound: device memory").isEqualTo(ingestBytes);
                    assertThat(received(registry, "audit", null)).isEqualTo(auditBytes);
                    assertThat(received(registry, "audit", "host")).as("not bound: plain TCP").isEqualTo(auditBytes);
                    assertThat(registry.find("devmem.received.bytes").counters())
                            .allSatisfy(c -> assertThat(c.getId().getTag("name")).isIn("ingest", "audit"));
                });
    }

    private static double received(MeterRegistry registry, String name, String kind) {
        var search = registry.find("devmem.received.bytes").tag("name", name);
        if (kind != null) {
            search = search.tag("kind", kind);
        }
        return search.counters().stream().mapToDouble(io.micrometer.core.instrument.Counter::count).sum();
    }

    /** Connects (retrying until the listener is up), writes {@code bytes} and closes. */
    private static void send(int port, int bytes) throws Exception {
        try (java.net.Socket s = DevmemListenerLifecycleTest.connect(port)) {
            s.getOutputStream().write(new byte[bytes]);
        }
    }

    @Test
    void theLinuxBackendsHealthIsTheKernelsAnswer() {
        runner.withPropertyValues("devmem.backend=linux").run(context -> {
            assertThat(context).hasNotFailed();
            DevmemBackend backend = context.getBean(DevmemBackend.class);
            assertThat(backend.name()).isEqualTo("linux");
            assertThat(context.getBean(DevmemReceiver.class).dmabuf()).as("linux's default exporter")
                    .isEqualTo(DmabufSource.udmabuf(64L << 20));
            assertThat(context.getBean(DevmemSender.class).dmabuf()).isEqualTo(DmabufSource.udmabuf(64L << 20));
            BackendAvailability probe = DevmemBackends.linux().availability();
            Health health = context.getBean(DevmemHealthIndicator.class).health();
            assertThat(health.getStatus()).isEqualTo(probe.available() ? Status.UP : Status.DOWN);
            assertThat(health.getDetails()).containsEntry("backend", "linux")
                    .containsEntry("availability", probe.reason());
            if (!probe.available()) {
                assertThat(health.getDetails()).containsEntry("reason", probe.reason());
            }
        });
    }

    @Test
    void healthIsDownWithTheReasonWhenTheListenerCannotBind() {
        // The application's NIC is emu1; the receiver binds emu0: the NIC answers ENODEV at subscription.
        runner.withUserConfiguration(Handler.class, OtherNic.class)
                .withPropertyValues("devmem.listener.port=" + freePort())
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    DevmemListenerLifecycle listener = context.getBean(DevmemListenerLifecycle.class);
                    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30))
                            .until(() -> listener.state() == DevmemListenerLifecycle.State.FAILED);
                    Health health = context.getBean(DevmemHealthIndicator.class).health();
                    assertThat(health.getStatus()).isEqualTo(Status.DOWN);
                    assertThat(String.valueOf(health.getDetails().get("reason"))).contains("ENODEV");
                });
    }

    @ParameterizedTest(name = "{0}={1}")
    @CsvSource(delimiter = '|', value = {
            "devmem.receiver.batch-size       | 0",
            "devmem.receiver.batch-size       | 70000",
            "devmem.receiver.token-budget     | 0",
            "devmem.receiver.token-budget     | 20000",   // 64 MiB / 4 KiB = 16384
            "devmem.receiver.rx-queues        | 4",       // the emulated NIC has 0..3
            "devmem.receiver.rx-queues        | -1",
            "devmem.receiver.io-threads       | 0",
            "devmem.receiver.backlog          | 0",
            "devmem.receiver.close-grace-period | -1s",
            "devmem.receiver.release-flush-delay | -5ms",
            "devmem.receiver.nic-setup        | true",    // emulated backend: nothing to set up
            "devmem.receiver.dmabuf.source    | cuda",    // the emulated NIC maps its dmabuf
            "devmem.receiver.dmabuf.size      | 0",
            "devmem.emulated.frag-size        | 1000",
            "devmem.emulated.rx-queues        | 0",
            "devmem.emulated.header-split-failure-rate | 2",
            "devmem.sender.interface-name     | emu9",    // the emulated NIC is emu0
            "devmem.sender.max-in-flight      | 0",
            "devmem.sender.io-threads         | 0",
            "devmem.loops.threads             | -1",
    })
    void aWrongValueStopsTheApplicationNamingTheProperty(String property, String value) {
        runner.withPropertyValues(property + "=" + value).run(context -> {
            assertThat(context).hasFailed();
            Throwable failure = context.getStartupFailure();
            InvalidConfigurationPropertyValueException invalid = findCause(failure);
            assertThat(invalid).as("%s", failure).isNotNull();
            assertThat(invalid.getName()).isEqualTo(property);
            assertThat(invalid.getReason()).isNotBlank();
            assertThat(invalid.getMessage()).contains(property).contains(invalid.getReason());
        });
    }

    @ParameterizedTest(name = "{0}={1}")
    @CsvSource(delimiter = '|', value = {
            "devmem.backend                | foo",
            "devmem.receiver.batch-size    | many",
            "devmem.receiver.dmabuf.size   | big",
            "devmem.listener.shutdown-timeout | soon",
    })
    void aValueOfTheWrongTypeStopsTheApplicationNamingTheProperty(String property, String value) {
        runner.withPropertyValues(property + "=" + value).run(context -> {
            assertThat(context).hasFailed();
            String messages = messages(context.getStartupFailure());
            assertThat(messages).contains(property).contains(value);
        });
    }

    @Test
    void theLinuxBackendCannotBindAnEmulatedDmabuf() {
        runner.withPropertyValues("devmem.backend=linux", "devmem.receiver.dmabuf.source=emulated").run(context ->
                assertThat(findCause(context.getStartupFailure()).getName())
                        .isEqualTo("devmem.receiver.dmabuf.source"));
    }

    @Test
    void aWrongListenerValueStopsTheApplicationNamingTheProperty() {
        runner.withUserConfiguration(Handler.class).withPropertyValues("devmem.listener.port=70000").run(context -> {
            assertThat(context).hasFailed();
            assertThat(findCause(context.getStartupFailure()).getName()).isEqualTo("devmem.listener.port");
        });
        runner.withUserConfiguration(Handler.class).withPropertyValues("devmem.listener.max-connections=0")
                .run(context -> assertThat(findCause(context.getStartupFailure()).getName())
                        .isEqualTo("devmem.listener.max-connections"));
    }

    private static InvalidConfigurationPropertyValueException findCause(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof InvalidConfigurationPropertyValueException i) {
                return i;
            }
        }
        return null;
    }

    private static String messages(Throwable t) {
        StringBuilder b = new StringBuilder();
        for (Throwable c = t; c != null; c = c.getCause()) {
            b.append(c.getMessage()).append('\n');
        }
        return b.toString();
    }

    static int freePort() {
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Configuration(proxyBeanMethods = false)
    static class Handler {
        @Bean
        DevmemConnectionHandler handler() {
            return connection -> connection.receive(frags -> frags.doOnNext(f -> f.release()).then());
        }
    }

    @Configuration(proxyBeanMethods = false)
    static class OwnBeans {
        @Bean(destroyMethod = "close")
        EmulatedBackend ownBackend() throws Exception {
            return DevmemBackends.emulated(EmulatedNicConfig.defaults().withInterfaceName("mine0"));
        }

        @Bean
        DevmemReceiver ownReceiver(EmulatedBackend backend) {
            return DevmemReceiver.create(backend).batchSize(7);
        }
    }

    @Configuration(proxyBeanMethods = false)
    static class OtherNic {
        @Bean(destroyMethod = "close")
        EmulatedBackend otherNic() throws Exception {
            return DevmemBackends.emulated(EmulatedNicConfig.defaults().withInterfaceName("emu1"));
        }
    }
}
