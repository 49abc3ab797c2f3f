package dev.devmem.spring.boot;

import dev.devmem.api.DevmemException;
import dev.devmem.api.spi.DevmemBackend;
import dev.devmem.ffm.DevmemBackends;
import dev.devmem.ffm.emulated.EmulatedNicConfig;
import dev.devmem.ffm.emulated.FlowSteering;
import dev.devmem.reactor.DevmemLoops;
import dev.devmem.reactor.DevmemReceiver;
import dev.devmem.reactor.DevmemSender;
import dev.devmem.reactor.NicSetup;
import io.micrometer.core.instrument.MeterRegistry;
import org.springframework.boot.context.properties.source.InvalidConfigurationPropertyValueException;

import java.util.List;
import java.util.Objects;
import java.util.function.UnaryOperator;

/**
 * Builds the library's objects from {@link DevmemProperties}. Every option goes through the library's
 * own setter, whose check is the one that counts; a refusal becomes an
 * {@link InvalidConfigurationPropertyValueException} naming the {@code devmem.*} property, which Spring
 * Boot's failure analyzer prints at startup. The cross-checks between properties that no single setter
 * can see are here too.
 */
final class DevmemBeanFactory {

    private DevmemBeanFactory() {
    }

    /**
     * The emulated devmem NIC, its interface named like the receiver's and its queues steered like a
     * real NIC the library set up (the listen port's flows to the first bound queue, RSS over the queues
     * below it), or the running kernel.
     */
    static DevmemBackend backend(DevmemProperties p) throws DevmemException {
        return switch (p.backend()) {
            case EMULATED -> DevmemBackends.emulated(emulatedNic(p));
            case LINUX -> DevmemBackends.linux();
            case null -> throw invalid("devmem.backend", null, "must be emulated or linux");
        };
    }

    static EmulatedNicConfig emulatedNic(DevmemProperties p) {
        DevmemProperties.Emulated e = p.emulated();
        DevmemProperties.Receiver r = p.receiver();
        String name = r.binds() ? r.interfaceName() : "emu0";
        EmulatedNicConfig config = EmulatedNicConfig.defaults();
        config = set(config, "devmem.receiver.interface-name", name, c -> c.withInterfaceName(name));
        config = set(config, "devmem.emulated.rx-queues", e.rxQueues(), c -> c.withRxQueues(e.rxQueues()));
        config = set(config, "devmem.emulated.frag-size", e.fragSize(), c -> c.withFragSize(e.fragSize()));
        config = set(config, "devmem.emulated.header-split-failure-rate", e.headerSplitFailureRate(),
                c -> c.withHeaderSplitFailures(e.headerSplitFailureRate(), e.seed()));
        List<Integer> queues = r.rxQueues() == null ? List.of() : r.rxQueues();
        if (r.binds()) {
            for (Integer q : queues) {
                if (q == null || q < 0 || q >= e.rxQueues()) {
                    throw invalid("devmem.receiver.rx-queues", queues,
                            "the emulated NIC has queues 0 to " + (e.rxQueues() - 1) + " (devmem.emulated.rx-queues)");
                }
            }
        }
        int devmemQueue = queues.isEmpty() || queues.getFirst() == null ? 0 : queues.getFirst();
        FlowSteering others = devmemQueue == 0 ? FlowSteering.rss()
                : (local, remote, count) -> FlowSteering.rss().queueFor(local, remote, devmemQueue);
        int port = p.listener().port();
        return config.withFlowSteering(port >= 1 && port <= 65535
                ? FlowSteering.localPort(port, devmemQueue, others) : others);
    }

    /** The receiver bean: immutable, nothing is bound until a subscription. */
    static DevmemReceiver receiver(DevmemBackend backend, DevmemProperties p, DevmemLoops loops,
                                   MeterRegistry registry) {
        DevmemProperties.Receiver r = p.receiver();
        int fragSize = p.backend() == DevmemProperties.Backend.EMULATED ? p.emulated().fragSize()
                : DevmemReceiver.Defaults.FRAG_SIZE;
        DevmemReceiver receiver = DevmemReceiver.create(backend);
        if (r.name() != null && !r.name().isBlank()) {
            receiver = set(receiver, "devmem.receiver.name", r.name(), x -> x.name(r.name()));
        }
        receiver = set(receiver, "devmem.emulated.frag-size", fragSize, x -> x.fragSize(fragSize));
        if (r.binds()) {
            receiver = set(receiver, "devmem.receiver.interface-name", r.interfaceName(),
                    x -> x.interfaceName(r.interfaceName()));
            receiver = set(receiver, "devmem.receiver.rx-queues", r.rxQueues(), x -> {
                Objects.requireNonNull(r.rxQueues(), "no rx queue");
                for (Integer q : r.rxQueues()) {
                    if (q == null || q < 0) {
                        throw new IllegalArgumentException("an rx queue is a number >= 0");
                    }
                }
                return x.rxQueues(r.rxQueues().toArray(Integer[]::new));
            });
            receiver = receiver.dmabuf(dmabuf(p, r.dmabuf(), "devmem.receiver.dmabuf"));
        }
        if (r.tokenBudget() != null) {
            receiver = set(receiver, "devmem.receiver.token-budget", r.tokenBudget(), x -> x.tokenBudget(r.tokenBudget()));
            long holds = r.binds() ? r.dmabuf().size().toBytes() / fragSize : Long.MAX_VALUE;
            if (r.tokenBudget() > holds) {
                throw invalid("devmem.receiver.token-budget", r.tokenBudget(), "the dmabuf holds only " + holds
                        + " frags of " + fragSize + " bytes (devmem.receiver.dmabuf.size / frag size)");
            }
        }
        receiver = set(receiver, "devmem.receiver.batch-size", r.batchSize(), x -> x.batchSize(r.batchSize()));
        receiver = set(receiver, "devmem.receiver.io-threads", r.ioThreads(), x -> x.ioThreads(r.ioThreads()));
        receiver = set(receiver, "devmem.receiver.release-flush-delay", r.releaseFlushDelay(),
                x -> x.releaseFlushDelay(r.releaseFlushDelay()));
        receiver = set(receiver, "devmem.receiver.close-grace-period", r.closeGracePeriod(),
                x -> x.closeGracePeriod(r.closeGracePeriod()));
        receiver = set(receiver, "devmem.receiver.backlog", r.backlog(), x -> x.backlog(r.backlog()));
        if (r.nicSetup()) {
            if (p.backend() != DevmemProperties.Backend.LINUX || !r.binds()) {
                throw invalid("devmem.receiver.nic-setup", true,
                        "NIC setup is for devmem.backend=linux with devmem.receiver.interface-name set");
            }
            receiver = receiver.nicSetup(NicSetup.kernel());
        }
        if (loops != null) {
            receiver = receiver.loops(loops);
        }
        return registry == null ? receiver : receiver.meterRegistry(registry);
    }

    /** The sender bean: immutable, nothing is bound until a subscription. */
    static DevmemSender sender(DevmemBackend backend, DevmemProperties p, DevmemLoops loops,
                               MeterRegistry registry) {
        DevmemProperties.Sender s = p.sender();
        DevmemSender sender = DevmemSender.create(backend);
        if (s.name() != null && !s.name().isBlank()) {
            sender = set(sender, "devmem.sender.name", s.name(), x -> x.name(s.name()));
        }
        sender = set(sender, "devmem.sender.interface-name", s.interfaceName(), x -> x.interfaceName(s.interfaceName()));
        if (p.backend() == DevmemProperties.Backend.EMULATED && p.receiver().binds()
                && !s.interfaceName().equals(p.receiver().interfaceName())) {
            throw invalid("devmem.sender.interface-name", s.interfaceName(), "the emulated NIC is named "
                    + p.receiver().interfaceName() + " (devmem.receiver.interface-name)");
        }
        sender = sender.dmabuf(dmabuf(p, s.dmabuf(), "devmem.sender.dmabuf"));
        sender = sender.copyFallback(s.copyFallback());
        sender = set(sender, "devmem.sender.max-in-flight", s.maxInFlight(),
                x -> x.maxInFlightBytes(Objects.requireNonNull(s.maxInFlight(), "empty").toBytes()));
        sender = set(sender, "devmem.sender.io-threads", s.ioThreads(), x -> x.ioThreads(s.ioThreads()));
        sender = set(sender, "devmem.sender.close-grace-period", s.closeGracePeriod(),
                x -> x.closeGracePeriod(s.closeGracePeriod()));
        if (loops != null) {
            sender = sender.loops(loops);
        }
        return registry == null ? sender : sender.meterRegistry(registry);
    }

    /** Loops shared by the receiver and the sender; {@code devmem.loops.threads} must be >= 1. */
    static DevmemLoops loops(DevmemBackend backend, DevmemProperties p) throws DevmemException {
        int threads = p.loops().threads();
        if (threads < 1) {
            throw invalid("devmem.loops.threads", threads, "must be >= 1 for shared loops (0: none)");
        }
        return DevmemLoops.create(backend, threads);
    }

    /** The listener's settings, checked. */
    static DevmemProperties.Listener listener(DevmemProperties p) {
        DevmemProperties.Listener l = p.listener();
        if (l.address() == null || l.address().isBlank()) {
            throw invalid("devmem.listener.address", l.address(), "an address to listen on is needed");
        }
        if (l.port() < 1 || l.port() > 65535) {
            throw invalid("devmem.listener.port", l.port(), "a TCP port is 1 to 65535");
        }
        if (l.maxConnections() < 1) {
            throw invalid("devmem.listener.max-connections", l.maxConnections(), "must be >= 1");
        }
        if (l.shutdownTimeout() == null || l.shutdownTimeout().isNegative()) {
            throw invalid("devmem.listener.shutdown-timeout", l.shutdownTimeout(), "must be a duration >= 0");
        }
        if (l.socketAddress().isUnresolved()) {
            throw invalid("devmem.listener.address", l.address(), "does not resolve to an address");
        }
        return l;
    }

    private static dev.devmem.api.DmabufSource dmabuf(DevmemProperties p, DevmemProperties.Dmabuf d, String property) {
        if (d == null || d.size() == null) {
            throw invalid(property + ".size", null, "a size is needed");
        }
        if (d.size().toBytes() <= 0) {
            throw invalid(property + ".size", d.size(), "must be positive");
        }
        DevmemProperties.Dmabuf.Source s = d.sourceOn(p.backend());
        if (p.backend() == DevmemProperties.Backend.EMULATED
                && s != DevmemProperties.Dmabuf.Source.EMULATED && s != DevmemProperties.Dmabuf.Source.UDMABUF) {
            throw invalid(property + ".source", s, "the emulated backend maps its dmabuf: emulated or udmabuf");
        }
        if (p.backend() == DevmemProperties.Backend.LINUX && s == DevmemProperties.Dmabuf.Source.EMULATED) {
            throw invalid(property + ".source", s, "the linux backend cannot bind an emulated dmabuf: use udmabuf,"
                    + " dma-heap or cuda");
        }
        return d.toDmabufSource(p.backend());
    }

    /** Applies one library setter; its refusal (the library's own check) names the property. */
    private static <T> T set(T target, String property, Object value, UnaryOperator<T> setter) {
        try {
            return setter.apply(target);
        } catch (IllegalArgumentException | NullPointerException e) {
            throw new InvalidConfigurationPropertyValueException(property, value, String.valueOf(e.getMessage()), e);
        }
    }

    static InvalidConfigurationPropertyValueException invalid(String property, Object value, String reason) {
        return new InvalidConfigurationPropertyValueException(property, value, reason);
    }
}
