package dev.devmem.reactor.tx;

import dev.devmem.reactor.DevmemMeters;
import dev.devmem.reactor.loop.MeterCache;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;

import java.util.concurrent.atomic.AtomicLong;

/**
 * The recorder behind the {@code devmem.tx.*} {@link DevmemMeters}: resolved once per registry and
 * cached, gauges backed by atomics, the no-registry instance a no-op. Called on the I/O loop.
 */
final class TxMetrics {
    private static final MeterCache<TxMetrics> CACHE = new MeterCache<>();
    static final TxMetrics NOOP = new TxMetrics(null, null);

    private final boolean enabled;
    private final Counter bytes;
    private final Counter sends;
    private final Counter completions;
    private final Counter completedBytes;
    private final Counter copied;
    private final Counter notifications;
    private final Counter slices;
    private final Counter stallInflight;
    private final Counter stallSocket;
    private final Counter fallbacks;
    final AtomicLong outstandingBytes = new AtomicLong();
    final AtomicLong devmemBindings = new AtomicLong();
    final AtomicLong fallbackBindings = new AtomicLong();

    /** The recorder of {@code registry} for the sender called {@code name} (the {@code name} tag). */
    static TxMetrics of(MeterRegistry registry, String name) {
        return registry == null ? NOOP : CACHE.get(registry, name, TxMetrics::new);
    }

    private TxMetrics(MeterRegistry r, String name) {
        enabled = r != null;
        if (r == null) {
            bytes = sends = completions = completedBytes = copied = notifications = slices = null;
            stallInflight = stallSocket = fallbacks = null;
            return;
        }
        Tags named = Tags.of(DevmemMeters.Tags.NAME.asString(), name);
        bytes = counter(r, named, DevmemMeters.TX_BYTES, "bytes", "Bytes the kernel took from device memory");
        sends = counter(r, named, DevmemMeters.TX_SENDS, "sends", "sendmsg calls that took bytes");
        completions = counter(r, named, DevmemMeters.TX_COMPLETIONS, "sends", "Sends reported complete");
        completedBytes = counter(r, named, DevmemMeters.TX_COMPLETED_BYTES, "bytes", "Bytes of completed sends");
        copied = counter(r, named, DevmemMeters.TX_COPIED, "sends", "Completed sends the kernel reported as copied");
        notifications = counter(r, named, DevmemMeters.TX_NOTIFICATIONS, "notifications",
                "Completion notifications read from the error queue");
        slices = counter(r, named, DevmemMeters.TX_SLICES, "slices", "Slices completed");
        fallbacks = counter(r, named, DevmemMeters.TX_FALLBACKS, "subscriptions",
                "Sender subscriptions on the copy fallback");
        String reason = DevmemMeters.Tags.REASON.asString();
        stallInflight = Counter.builder(DevmemMeters.TX_STALLS.getName()).tag(reason, "inflight")
                .description("Times sending stopped, by reason").tags(named).register(r);
        stallSocket = Counter.builder(DevmemMeters.TX_STALLS.getName()).tag(reason, "socket")
                .description("Times sending stopped, by reason").tags(named).register(r);
        Gauge.builder(DevmemMeters.TX_OUTSTANDING_BYTES.getName(), outstandingBytes, AtomicLong::get).baseUnit("bytes")
                .description("Bytes sent and not yet completed").tags(named).register(r);
        String mode = DevmemMeters.Tags.MODE.asString();
        Gauge.builder(DevmemMeters.TX_BINDINGS_ACTIVE.getName(), devmemBindings, AtomicLong::get).tag(mode, "devmem")
                .baseUnit("bindings").description("TX bindings held").tags(named).register(r);
        Gauge.builder(DevmemMeters.TX_BINDINGS_ACTIVE.getName(), fallbackBindings, AtomicLong::get)
                .tag(mode, "fallback").baseUnit("bindings").description("TX bindings held").tags(named).register(r);
    }

    private static Counter counter(MeterRegistry r, Tags named, DevmemMeters m, String unit, String description) {
        return Counter.builder(m.getName()).baseUnit(unit).description(description).tags(named).register(r);
    }

    void sent(long n) {
        if (enabled) {
            sends.increment();
            bytes.increment(n);
            outstandingBytes.addAndGet(n);
        }
    }

    /** One completion poll's worth. */
    void completed(long sendsDone, long bytesDone, long copiedSends, long notices) {
        if (enabled && sendsDone + notices > 0) {
            completions.increment(sendsDone);
            completedBytes.increment(bytesDone);
            copied.increment(copiedSends);
            notifications.increment(notices);
            outstandingBytes.addAndGet(-bytesDone);
        }
    }

    void slices(long n) {
        if (enabled && n > 0) {
            slices.increment(n);
        }
    }

    /** Sent bytes that will never be reported (the socket closed first): out of the gauge. */
    void abandoned(long bytesInFlight) {
        if (enabled && bytesInFlight != 0) {
            outstandingBytes.addAndGet(-bytesInFlight);
        }
    }

    void stallInflight() {
        if (enabled) {
            stallInflight.increment();
        }
    }

    void stallSocket() {
        if (enabled) {
            stallSocket.increment();
        }
    }

    void binding(boolean fallback, int delta) {
        if (enabled) {
            (fallback ? fallbackBindings : devmemBindings).addAndGet(delta);
            if (fallback && delta > 0) {
                fallbacks.increment();
            }
        }
    }
}
