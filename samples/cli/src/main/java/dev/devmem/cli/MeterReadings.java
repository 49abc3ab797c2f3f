package dev.devmem.cli;

import dev.devmem.api.FragKind;
import dev.devmem.reactor.DevmemMeters;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;

import java.util.Locale;

/**
 * Reads the {@link DevmemMeters} of the receiver or sender a command gave this registry (0 when a
 * meter is absent).
 */
final class MeterReadings {
    private final MeterRegistry registry;

    MeterReadings(MeterRegistry registry) {
        this.registry = registry;
    }

    private static String tag(FragKind kind) {
        return kind.name().toLowerCase(Locale.ROOT);
    }

    long frags(FragKind kind) {
        return counter(DevmemMeters.RECEIVED_FRAGS.getName(), DevmemMeters.Tags.KIND.asString(), tag(kind));
    }

    long bytes(FragKind kind) {
        return counter(DevmemMeters.RECEIVED_BYTES.getName(), DevmemMeters.Tags.KIND.asString(), tag(kind));
    }

    long dontneedCalls() {
        return counter(DevmemMeters.DONTNEED_CALLS.getName(), null, null);
    }

    double dontneedTokensTotal() {
        var s = registry.find(DevmemMeters.DONTNEED_TOKENS.getName()).summary();
        return s == null ? 0 : s.totalAmount();
    }

    long returned() {
        return counter(DevmemMeters.RETURNED_FRAGS.getName(), null, null);
    }

    long reclaimed() {
        return counter(DevmemMeters.RECLAIMED_FRAGS.getName(), null, null);
    }

    long stalls(DevmemMeters.StallReason reason) {
        return counter(DevmemMeters.STALLS.getName(), DevmemMeters.Tags.REASON.asString(), reason.tagValue());
    }

    long tokensOutstanding() {
        return gauge(DevmemMeters.TOKENS_OUTSTANDING.getName());
    }

    long connectionsActive() {
        return gauge(DevmemMeters.CONNECTIONS_ACTIVE.getName());
    }

    long bindingsActive() {
        return gauge(DevmemMeters.BINDINGS_ACTIVE.getName());
    }

    // ------------------------------------------------------------------ TX (devmem.tx.*)

    /** {@code devmem.tx.bytes}: bytes the kernel took. */
    long txBytes() {
        return counter(DevmemMeters.TX_BYTES.getName(), null, null);
    }

    /** {@code devmem.tx.sends}: sends that took bytes. */
    long txSends() {
        return counter(DevmemMeters.TX_SENDS.getName(), null, null);
    }

    /** {@code devmem.tx.completions}: sends completed. */
    long txCompletions() {
        return counter(DevmemMeters.TX_COMPLETIONS.getName(), null, null);
    }

    /** {@code devmem.tx.completed.bytes}: bytes of the completed sends. */
    long txCompletedBytes() {
        return counter(DevmemMeters.TX_COMPLETED_BYTES.getName(), null, null);
    }

    /** {@code devmem.tx.copied}: completed sends whose notice said COPIED. */
    long txCopied() {
        return counter(DevmemMeters.TX_COPIED.getName(), null, null);
    }

    /** {@code devmem.tx.notifications}: error-queue notices read. */
    long txNotifications() {
        return counter(DevmemMeters.TX_NOTIFICATIONS.getName(), null, null);
    }

    /** {@code devmem.tx.outstanding.bytes}: sent and not yet completed. */
    long txOutstandingBytes() {
        return gauge(DevmemMeters.TX_OUTSTANDING_BYTES.getName());
    }

    /** {@code devmem.tx.stalls{reason}}: {@code inflight} or {@code socket}. */
    long txStalls(String reason) {
        return counter(DevmemMeters.TX_STALLS.getName(), DevmemMeters.Tags.REASON.asString(), reason);
    }

    private long counter(String name, String tagKey, String tagValue) {
        var search = registry.find(name);
        if (tagKey != null) {
            search = search.tag(tagKey, tagValue);
        }
        Counter c = search.counter();
        return c == null ? 0 : Math.round(c.count());
    }

    private long gauge(String name) {
        Gauge g = registry.find(name).gauge();
        return g == null ? 0 : Math.round(g.value());
    }
}
