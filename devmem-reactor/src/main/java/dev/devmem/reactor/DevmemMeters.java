package dev.devmem.reactor;

import io.micrometer.common.docs.KeyName;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.docs.MeterDocumentation;

/**
 * The meters a {@link DevmemReceiver} records when it is given a
 * {@linkplain DevmemReceiver#meterRegistry meter registry}. Names share the prefix {@code devmem.};
 * tags are low-cardinality only (no per-connection or per-address tags). Counters are updated once
 * per recvmsg or per flush, never per frag.
 */
public enum DevmemMeters implements MeterDocumentation {

    /** Bytes received, by frag kind. */
    RECEIVED_BYTES {
        @Override public String getName() { return "devmem.received.bytes"; }
        @Override public Meter.Type getType() { return Meter.Type.COUNTER; }
        @Override public String getBaseUnit() { return "bytes"; }
        @Override public KeyName[] getKeyNames() { return new KeyName[] {Tags.KIND}; }
    },

    /** Frags received, by frag kind. */
    RECEIVED_FRAGS {
        @Override public String getName() { return "devmem.received.frags"; }
        @Override public Meter.Type getType() { return Meter.Type.COUNTER; }
        @Override public String getBaseUnit() { return "frags"; }
        @Override public KeyName[] getKeyNames() { return new KeyName[] {Tags.KIND}; }
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
     * itself (a full kernel batch) since the previous flush are recorded with their mean, so count
     * and total are exact while the shape of the distribution is approximate.
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
        @Override public KeyName[] getKeyNames() { return new KeyName[] {Tags.REASON}; }
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
    };

    /** Tag keys. */
    public enum Tags implements KeyName {
        /** {@code dmabuf}, {@code linear} or {@code host}. */
        KIND {
            @Override public String asString() { return "kind"; }
        },
        /** {@code demand}, {@code tokens} or {@code buffers}. */
        REASON {
            @Override public String asString() { return "reason"; }
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
