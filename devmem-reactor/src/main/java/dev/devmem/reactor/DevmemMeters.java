package dev.devmem.reactor;

import io.micrometer.common.docs.KeyName;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.docs.MeterDocumentation;

/**
 * The meters a {@link DevmemReceiver} or a {@link DevmemSender} records when it is given a
 * {@linkplain DevmemReceiver#meterRegistry meter registry}. Names share the prefix {@code devmem.}
 * ({@code devmem.tx.} for sending); tags are low-cardinality only (no per-connection or per-address
 * tags). Receive counters are updated once per recvmsg or per flush, never per frag; TX counters once
 * per sendmsg or per completion poll, never per byte.
 *
 * <p>TX identities that hold at every quiescent point (nothing in flight):
 * {@code devmem.tx.bytes} = {@code devmem.tx.completed.bytes} + {@code devmem.tx.outstanding.bytes},
 * {@code devmem.tx.sends} = {@code devmem.tx.completions} + the sends in flight, and the bytes equal the
 * lengths of the slices sent.
 *
 * <p>Every meter carries the tag {@code name} ({@link Tags#NAME}): the receiver's or sender's
 * {@linkplain DevmemReceiver#name(String) name}, so several of them in one registry are told apart.
 * Gauges sum over the live connections or senders of that name.
 */
public enum DevmemMeters implements MeterDocumentation {

    /** Bytes received, by frag kind. */
    RECEIVED_BYTES {
        @Override public String getName() { return "devmem.received.bytes"; }
        @Override public Meter.Type getType() { return Meter.Type.COUNTER; }
        @Override public String getBaseUnit() { return "bytes"; }
        @Override public KeyName[] getKeyNames() { return new KeyName[] {Tags.NAME, Tags.KIND}; }
    },

    /** Frags received, by frag kind. */
    RECEIVED_FRAGS {
        @Override public String getName() { return "devmem.received.frags"; }
        @Override public Meter.Type getType() { return Meter.Type.COUNTER; }
        @Override public String getBaseUnit() { return "frags"; }
        @Override public KeyName[] getKeyNames() { return new KeyName[] {Tags.NAME, Tags.KIND}; }
    },

    /** Frags returned by one recvmsg (receive call that returned data). */
    RECEIVE_BATCH_FRAGS {
        @Override public String getName() { return "devmem.receive.batch"; }
        @Override public Meter.Type getType() { return Meter.Type.DISTRIBUTION_SUMMARY; }
        @Override public String getBaseUnit() { return "frags"; }
    },

    /** Frags delivered and not yet handed back, summed over the live connections. */
    TOKENS_OUTSTANDING {
        @Override public String getName() { return "devmem.tokens.outstanding"; }
        @Override public Meter.Type getType() { return Meter.Type.GAUGE; }
        @Override public String getBaseUnit() { return "frags"; }
    },

    /** Frags handed back to the socket (released by the application). */
    RETURNED_FRAGS {
        @Override public String getName() { return "devmem.returned.frags"; }
        @Override public Meter.Type getType() { return Meter.Type.COUNTER; }
        @Override public String getBaseUnit() { return "frags"; }
    },

    /** Frags never released, reclaimed by closing their socket: a leak in the application. */
    RECLAIMED_FRAGS {
        @Override public String getName() { return "devmem.reclaimed.frags"; }
        @Override public Meter.Type getType() { return Meter.Type.COUNTER; }
        @Override public String getBaseUnit() { return "frags"; }
    },

    /** {@code setsockopt(SO_DEVMEM_DONTNEED)} calls. */
    DONTNEED_CALLS {
        @Override public String getName() { return "devmem.dontneed.calls"; }
        @Override public Meter.Type getType() { return Meter.Type.COUNTER; }
        @Override public String getBaseUnit() { return "calls"; }
    },

    /**
     * Tokens freed per DONTNEED call. Sampled at each flush the I/O loop makes: calls a socket made by
     * itself (a full kernel batch) since the previous flush are recorded as whole tokens spread
     * evenly over them, so count and total are exact while the shape of the distribution is approximate.
     */
    DONTNEED_TOKENS {
        @Override public String getName() { return "devmem.dontneed.tokens"; }
        @Override public Meter.Type getType() { return Meter.Type.DISTRIBUTION_SUMMARY; }
        @Override public String getBaseUnit() { return "tokens"; }
    },

    /** Times reading stopped, by reason: no downstream demand, the token budget used up, or buffers pinned. */
    STALLS {
        @Override public String getName() { return "devmem.stalls"; }
        @Override public Meter.Type getType() { return Meter.Type.COUNTER; }
        @Override public KeyName[] getKeyNames() { return new KeyName[] {Tags.NAME, Tags.REASON}; }
    },

    /** Rx bindings held by live receiver subscriptions. */
    BINDINGS_ACTIVE {
        @Override public String getName() { return "devmem.bindings.active"; }
        @Override public Meter.Type getType() { return Meter.Type.GAUGE; }
        @Override public String getBaseUnit() { return "bindings"; }
    },

    /** Open connections. */
    CONNECTIONS_ACTIVE {
        @Override public String getName() { return "devmem.connections.active"; }
        @Override public Meter.Type getType() { return Meter.Type.GAUGE; }
        @Override public String getBaseUnit() { return "connections"; }
    },

    // ------------------------------------------------------------------ TX ({@link DevmemSender})

    /** Bytes the kernel took from device memory (the sum of what the sendmsg calls returned). */
    TX_BYTES {
        @Override public String getName() { return "devmem.tx.bytes"; }
        @Override public Meter.Type getType() { return Meter.Type.COUNTER; }
        @Override public String getBaseUnit() { return "bytes"; }
    },

    /** sendmsg calls that took bytes: each spent one of the socket's zerocopy send numbers. */
    TX_SENDS {
        @Override public String getName() { return "devmem.tx.sends"; }
        @Override public Meter.Type getType() { return Meter.Type.COUNTER; }
        @Override public String getBaseUnit() { return "sends"; }
    },

    /** Sends the kernel reported complete (by send number, whatever the notifications merged). */
    TX_COMPLETIONS {
        @Override public String getName() { return "devmem.tx.completions"; }
        @Override public Meter.Type getType() { return Meter.Type.COUNTER; }
        @Override public String getBaseUnit() { return "sends"; }
    },

    /** Bytes of the completed sends. */
    TX_COMPLETED_BYTES {
        @Override public String getName() { return "devmem.tx.completed.bytes"; }
        @Override public Meter.Type getType() { return Meter.Type.COUNTER; }
        @Override public String getBaseUnit() { return "bytes"; }
    },

    /** Completed sends the kernel reported as copied ({@code SO_EE_CODE_ZEROCOPY_COPIED}). */
    TX_COPIED {
        @Override public String getName() { return "devmem.tx.copied"; }
        @Override public Meter.Type getType() { return Meter.Type.COUNTER; }
        @Override public String getBaseUnit() { return "sends"; }
    },

    /** Completion notifications read from the error queue (one may cover many sends). */
    TX_NOTIFICATIONS {
        @Override public String getName() { return "devmem.tx.notifications"; }
        @Override public Meter.Type getType() { return Meter.Type.COUNTER; }
        @Override public String getBaseUnit() { return "notifications"; }
    },

    /** Slices completed and handed to the subscriber. */
    TX_SLICES {
        @Override public String getName() { return "devmem.tx.slices"; }
        @Override public Meter.Type getType() { return Meter.Type.COUNTER; }
        @Override public String getBaseUnit() { return "slices"; }
    },

    /** Bytes sent and not yet completed, summed over live senders: the in-flight cap bounds it per sender. */
    TX_OUTSTANDING_BYTES {
        @Override public String getName() { return "devmem.tx.outstanding.bytes"; }
        @Override public Meter.Type getType() { return Meter.Type.GAUGE; }
        @Override public String getBaseUnit() { return "bytes"; }
    },

    /** Times sending stopped, by reason: the in-flight cap, or a full socket buffer. */
    TX_STALLS {
        @Override public String getName() { return "devmem.tx.stalls"; }
        @Override public Meter.Type getType() { return Meter.Type.COUNTER; }
        @Override public KeyName[] getKeyNames() { return new KeyName[] {Tags.NAME, Tags.REASON}; }
    },

    /** TX bindings held by live sender subscriptions, by mode: {@code devmem}, or {@code fallback} (host memory). */
    TX_BINDINGS_ACTIVE {
        @Override public String getName() { return "devmem.tx.bindings.active"; }
        @Override public Meter.Type getType() { return Meter.Type.GAUGE; }
        @Override public String getBaseUnit() { return "bindings"; }
        @Override public KeyName[] getKeyNames() { return new KeyName[] {Tags.NAME, Tags.MODE}; }
    },

    /** Sender subscriptions that ran on the copy fallback because the kernel refused devmem TX. */
    TX_FALLBACKS {
        @Override public String getName() { return "devmem.tx.fallbacks"; }
        @Override public Meter.Type getType() { return Meter.Type.COUNTER; }
        @Override public String getBaseUnit() { return "subscriptions"; }
    };

    /** Every meter is tagged with {@link Tags#NAME}; some with more. */
    @Override
    public KeyName[] getKeyNames() {
        return new KeyName[] {Tags.NAME};
    }

    /** Tag keys. */
    public enum Tags implements KeyName {
        /**
         * The receiver's or sender's name, set by the user ({@link DevmemReceiver#name(String)},
         * {@link DevmemSender#name(String)}); by default its interface name, or {@code default}.
         */
        NAME {
            @Override public String asString() { return "name"; }
        },
        /** {@code dmabuf}, {@code linear} or {@code host}. */
        KIND {
            @Override public String asString() { return "kind"; }
        },
        /** {@code demand}, {@code tokens} or {@code buffers} (rx); {@code inflight} or {@code socket} (TX). */
        REASON {
            @Override public String asString() { return "reason"; }
        },
        /** {@code devmem} or {@code fallback}. */
        MODE {
            @Override public String asString() { return "mode"; }
        }
    }

    /** Why reading stopped. */
    public enum StallReason {
        /** No downstream demand. */
        DEMAND,
        /** The token budget is used up: the application holds that many frags. */
        TOKENS,
        /** The socket's host slabs or the NIC's buffers are all pinned by unreleased frags. */
        BUFFERS;

        public String tagValue() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }
}
