package dev.devmem.reactor.rx;

import dev.devmem.api.FragKind;
import dev.devmem.reactor.DevmemMeters;
import dev.devmem.reactor.loop.MeterCache;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;

import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The recorder behind {@link DevmemMeters}: meters resolved once per registry and cached, gauges
 * backed by atomics, per registry and receiver name. Every method is cheap and allocation-free; the no-registry instance does nothing.
 */
final class Metrics {
    private static final FragKind[] KINDS = FragKind.values();
    private static final MeterCache<Metrics> CACHE = new MeterCache<>();
    static final Metrics NOOP = new Metrics(null, null);

    private final boolean enabled;
    private final Counter[] bytes;
    private final Counter[] frags;
    private final DistributionSummary batch;
    private final Counter returned;
    private final Counter reclaimed;
    private final Counter dontneedCalls;
    private final DistributionSummary dontneedTokens;
    private final Counter stallDemand;
    private final Counter stallTokens;
    private final Counter stallBuffers;
    final AtomicLong outstanding = new AtomicLong();
    final AtomicLong bindings = new AtomicLong();
    final AtomicLong connections = new AtomicLong();

    /** The recorder of {@code registry} for the receiver called {@code name} (the {@code name} tag). */
    static Metrics of(MeterRegistry registry, String name) {
        return registry == null ? NOOP : CACHE.get(registry, name, Metrics::new);
    }

    private Metrics(MeterRegistry r, String name) {
        enabled = r != null;
        bytes = new Counter[KINDS.length];
        frags = new Counter[KINDS.length];
        if (r == null) {
            batch = null;
            returned = reclaimed = dontneedCalls = stallDemand = stallTokens = stallBuffers = null;
            dontneedTokens = null;
            return;
        }
        Tags named = Tags.of(DevmemMeters.Tags.NAME.asString(), name);
        for (FragKind k : KINDS) {
            String tag = k.name().toLowerCase(Locale.ROOT);
            bytes[k.ordinal()] = Counter.builder(DevmemMeters.RECEIVED_BYTES.getName())
                    .baseUnit("bytes").tag(DevmemMeters.Tags.KIND.asString(), tag)
                    .description("Bytes received, by frag kind").tags(named).register(r);
            frags[k.ordinal()] = Counter.builder(DevmemMeters.RECEIVED_FRAGS.getName())
                    .baseUnit("frags").tag(DevmemMeters.Tags.KIND.asString(), tag)
                    .description("Frags received, by frag kind").tags(named).register(r);
        }
        batch = DistributionSummary.builder(DevmemMeters.RECEIVE_BATCH_FRAGS.getName()).baseUnit("frags")
                .description("Frags returned by one recvmsg").tags(named).register(r);
        returned = Counter.builder(DevmemMeters.RETURNED_FRAGS.getName()).baseUnit("frags")
                .description("Frags handed back to the socket").tags(named).register(r);
        reclaimed = Counter.builder(DevmemMeters.RECLAIMED_FRAGS.getName()).baseUnit("frags")
                .description("Frags never released, reclaimed by closing their socket").tags(named).register(r);
        dontneedCalls = Counter.builder(DevmemMeters.DONTNEED_CALLS.getName()).baseUnit("calls")
                .description("SO_DEVMEM_DONTNEED calls").tags(named).register(r);
        dontneedTokens = DistributionSummary.builder(DevmemMeters.DONTNEED_TOKENS.getName()).baseUnit("tokens")
                .description("Tokens freed per SO_DEVMEM_DONTNEED call").tags(named).register(r);
        String reason = DevmemMeters.Tags.REASON.asString();
        stallDemand = Counter.builder(DevmemMeters.STALLS.getName())
                .tag(reason, DevmemMeters.StallReason.DEMAND.tagValue())
                .description("Times reading stopped, by reason").tags(named).register(r);
        stallTokens = Counter.builder(DevmemMeters.STALLS.getName())
                .tag(reason, DevmemMeters.StallReason.TOKENS.tagValue())
                .description("Times reading stopped, by reason").tags(named).register(r);
        stallBuffers = Counter.builder(DevmemMeters.STALLS.getName())
                .tag(reason, DevmemMeters.StallReason.BUFFERS.tagValue())
                .description("Times reading stopped, by reason").tags(named).register(r);
        Gauge.builder(DevmemMeters.TOKENS_OUTSTANDING.getName(), outstanding, AtomicLong::get).baseUnit("frags")
                .description("Frags delivered and not yet handed back").tags(named).register(r);
        Gauge.builder(DevmemMeters.BINDINGS_ACTIVE.getName(), bindings, AtomicLong::get).baseUnit("bindings")
                .description("Rx bindings held").tags(named).register(r);
        Gauge.builder(DevmemMeters.CONNECTIONS_ACTIVE.getName(), connections, AtomicLong::get)
                .baseUnit("connections").description("Open connections").tags(named).register(r);
    }

    boolean enabled() {
        return enabled;
    }

    /** One receive's worth: {@code fragsByKind}/{@code bytesByKind} indexed by kind ordinal. */
    void received(int n, int[] fragsByKind, long[] bytesByKind) {
        if (!enabled) {
            return;
        }
        batch.record(n);
        for (int k = 0; k < KINDS.length; k++) {
            if (fragsByKind[k] != 0) {
                frags[k].increment(fragsByKind[k]);
                bytes[k].increment(bytesByKind[k]);
            }
        }
    }

    void outstandingDelta(long delta) {
        if (enabled && delta != 0) {
            outstanding.addAndGet(delta);
        }
    }

    void returned(long n) {
        if (enabled && n != 0) {
            returned.increment(n);
        }
    }

    void reclaimed(long n) {
        if (enabled && n != 0) {
            reclaimed.increment(n);
        }
    }

    void dontneed(long calls, long tokens) {
        if (!enabled || calls <= 0) {
            return;
        }
        dontneedCalls.increment(calls);
        // whole tokens per call, spread as evenly as the total allows: the recorded sum is the total
        // exactly (a floating-point mean summed back drifts off the integer)
        long each = tokens / calls;
        long extra = tokens % calls;
        for (long i = 0; i < calls; i++) {
            dontneedTokens.record(i < extra ? each + 1 : each);
        }
    }

    void stall(DevmemMeters.StallReason reason) {
        if (enabled) {
            (switch (reason) {
                case DEMAND -> stallDemand;
                case TOKENS -> stallTokens;
                case BUFFERS -> stallBuffers;
            }).increment();
        }
    }

    void bindings(int delta) {
        if (enabled) {
            bindings.addAndGet(delta);
        }
    }

    void connections(int delta) {
        if (enabled) {
            connections.addAndGet(delta);
        }
    }
}
