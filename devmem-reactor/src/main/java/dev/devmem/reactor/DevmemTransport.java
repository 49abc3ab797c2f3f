package dev.devmem.reactor;

import dev.devmem.api.DmabufSource;
import dev.devmem.api.spi.DevmemBackend;
import io.micrometer.core.instrument.MeterRegistry;
import reactor.core.scheduler.Scheduler;

import java.time.Duration;
import java.util.Objects;

/**
 * The options a {@link DevmemReceiver} and a {@link DevmemSender} share, written once (as
 * reactor-netty's {@code Transport} does for its clients and servers). Immutable: every setter checks
 * its argument and returns a copy.
 *
 * @param <T> the receiver or the sender
 */
public abstract sealed class DevmemTransport<T extends DevmemTransport<T>> permits DevmemReceiver, DevmemSender {

    final TransportConfig transport;

    DevmemTransport(TransportConfig transport) {
        this.transport = transport;
    }

    /** A copy of this receiver or sender with {@code transport}. */
    abstract T withTransport(TransportConfig transport);

    // ------------------------------------------------------------------ options

    /**
     * The value of the {@code name} tag on every meter this records, so several receivers and senders in
     * one registry are told apart. Low cardinality: a fixed name per configured receiver or sender, never
     * per connection or address. Default: the {@linkplain #interfaceName interface name}, or
     * {@code "default"} when none is set.
     */
    public T name(String name) {
        Args.notBlank("name", name);
        return withTransport(transport.withName(name));
    }

    /**
     * The netdev: for a receiver the one whose rx queues it binds (with {@code dmabuf} and
     * {@code rxQueues}, subscribing binds); for a sender the TX binding's device, which the flows
     * leave through (SO_BINDTODEVICE).
     */
    public T interfaceName(String interfaceName) {
        Args.notBlank("interfaceName", interfaceName);
        return withTransport(transport.withInterfaceName(interfaceName));
    }

    /** The device memory to bind, per subscription. */
    public T dmabuf(DmabufSource dmabuf) {
        Objects.requireNonNull(dmabuf, "dmabuf");
        return withTransport(transport.withDmabuf(dmabuf));
    }

    /** I/O loop threads per subscription, when no {@link #loops shared loops} are set. */
    public T ioThreads(int threads) {
        Args.atLeastOne("ioThreads", threads);
        return withTransport(transport.withIoThreads(threads));
    }

    /** Runs on these loops (shared by receivers and senders, owned by the caller) instead of per-subscription ones. */
    public T loops(DevmemLoops loops) {
        Args.sameBackend(loops, transport.backend());
        return withTransport(transport.withLoops(loops));
    }

    /** Records the {@link DevmemMeters} there. */
    public T meterRegistry(MeterRegistry registry) {
        Objects.requireNonNull(registry, "registry");
        return withTransport(transport.withMeterRegistry(registry));
    }

    /**
     * The scheduler of the release-flush and close-grace timers (default {@code Schedulers.parallel()}).
     * Timer tasks only set a flag and wake the loop; tests pass a virtual-time scheduler.
     */
    public T timer(Scheduler timer) {
        Objects.requireNonNull(timer, "timer");
        return withTransport(transport.withTimer(timer));
    }

    /**
     * After a stream ends, how long what the kernel still holds may come back before the socket closes
     * anyway: a receiver's delivered frags stay valid that long unless released; a sender's sends in
     * flight may complete that long.
     */
    public T closeGracePeriod(Duration grace) {
        Args.notNegative("closeGracePeriod", Objects.requireNonNull(grace, "grace"));
        return withTransport(transport.withCloseGracePeriod(grace));
    }

    // ------------------------------------------------------------------ getters

    public DevmemBackend backend() {
        return transport.backend();
    }

    /** The meters' {@code name} tag: the one set, else the interface name, else {@code "default"}. */
    public String name() {
        return transport.tagName();
    }

    public String interfaceName() {
        return transport.interfaceName();
    }

    public DmabufSource dmabuf() {
        return transport.dmabuf();
    }

    public int ioThreads() {
        return transport.ioThreads();
    }

    public DevmemLoops loops() {
        return transport.loops();
    }

    public MeterRegistry meterRegistry() {
        return transport.meterRegistry();
    }

    public Scheduler timer() {
        return transport.timer();
    }

    public Duration closeGracePeriod() {
        return transport.closeGracePeriod();
    }
}
