package dev.devmem.reactor;

import dev.devmem.api.DmabufSource;
import dev.devmem.api.spi.DevmemBackend;
import dev.devmem.reactor.loop.TransportResources;
import io.micrometer.core.instrument.MeterRegistry;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

import java.time.Duration;

/**
 * What a receiver and a sender configure alike, in one immutable record (reactor-netty's
 * {@code TransportConfig} idea): the backend, the name of their meters, the interface and dmabuf they
 * bind, their I/O loops, meters, timer and close grace. Internals never see this record nor the public
 * facade: each subscription gets the {@link TransportResources} made from it, the receiver also its
 * {@code RxOptions}.
 *
 * @param backend          the platform
 * @param name             the meters' {@code name} tag as set, or {@code null} for the default
 * @param interfaceName    the netdev bound, or {@code null}
 * @param dmabuf           the device memory bound, or {@code null}
 * @param ioThreads        loop threads per subscription when no shared {@code loops}
 * @param loops            shared loops (owned by the caller), or {@code null}
 * @param meterRegistry    where meters go, or {@code null}
 * @param timer            the flush and grace timer, or {@code null} for {@code Schedulers.parallel()}
 * @param closeGracePeriod how long what the kernel still holds may come back after the end
 */
record TransportConfig(DevmemBackend backend, String name, String interfaceName, DmabufSource dmabuf, int ioThreads,
                       DevmemLoops loops, MeterRegistry meterRegistry, Scheduler timer, Duration closeGracePeriod) {

    /** The meters' {@code name} tag when neither a name nor an interface is set. */
    static final String DEFAULT_NAME = "default";

    static TransportConfig of(DevmemBackend backend, int ioThreads, Duration closeGracePeriod) {
        return new TransportConfig(backend, null, null, null, ioThreads, null, null, null, closeGracePeriod);
    }

    /** The {@code name} tag: the one set, else the interface name, else {@value #DEFAULT_NAME}. */
    String tagName() {
        return name != null ? name : interfaceName != null ? interfaceName : DEFAULT_NAME;
    }

    Scheduler timerOrDefault() {
        return timer != null ? timer : Schedulers.parallel();
    }

    /** What one subscription runs with and acquires: all the internals get of this configuration. */
    TransportResources resources() {
        return new TransportResources(backend, tagName(), meterRegistry, timerOrDefault(), closeGracePeriod.toNanos(),
                ioThreads, loops == null ? null : loops.group());
    }

    TransportConfig withName(String v) {
        return new TransportConfig(backend, v, interfaceName, dmabuf, ioThreads, loops, meterRegistry, timer,
                closeGracePeriod);
    }

    TransportConfig withInterfaceName(String v) {
        return new TransportConfig(backend, name, v, dmabuf, ioThreads, loops, meterRegistry, timer, closeGracePeriod);
    }

    TransportConfig withDmabuf(DmabufSource v) {
        return new TransportConfig(backend, name, interfaceName, v, ioThreads, loops, meterRegistry, timer,
                closeGracePeriod);
    }

    TransportConfig withIoThreads(int v) {
        return new TransportConfig(backend, name, interfaceName, dmabuf, v, loops, meterRegistry, timer,
                closeGracePeriod);
    }

    TransportConfig withLoops(DevmemLoops v) {
        return new TransportConfig(backend, name, interfaceName, dmabuf, ioThreads, v, meterRegistry, timer,
                closeGracePeriod);
    }

    TransportConfig withMeterRegistry(MeterRegistry v) {
        return new TransportConfig(backend, name, interfaceName, dmabuf, ioThreads, loops, v, timer, closeGracePeriod);
    }

    TransportConfig withTimer(Scheduler v) {
        return new TransportConfig(backend, name, interfaceName, dmabuf, ioThreads, loops, meterRegistry, v,
                closeGracePeriod);
    }

    TransportConfig withCloseGracePeriod(Duration v) {
        return new TransportConfig(backend, name, interfaceName, dmabuf, ioThreads, loops, meterRegistry, timer, v);
    }

    @Override
    public String toString() {
        return "name=" + tagName() + ", backend=" + backend.name() + ", interface=" + interfaceName + ", dmabuf="
                + dmabuf + ", ioThreads=" + ioThreads + ", closeGracePeriod=" + closeGracePeriod + ", metrics="
                + (meterRegistry != null);
    }
}
