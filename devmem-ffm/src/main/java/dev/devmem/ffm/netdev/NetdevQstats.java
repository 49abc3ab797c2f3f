package dev.devmem.ffm.netdev;

import dev.devmem.api.DevmemProtocolException;
import dev.devmem.ffm.netlink.NlAttributes;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;

import static dev.devmem.ffm.netdev.NetdevSpec.*;

/**
 * Queue statistics from {@code qstats-get}: for a whole device, or for one queue when dumped
 * per queue. Drivers report only the counters they keep, so every counter is optional.
 *
 * @param counters the counters present, by their spec name ({@code rx-packets}, {@code tx-stop}, ...)
 */
public record NetdevQstats(int ifindex, Optional<QueueType> queueType, OptionalInt queueId,
                           Map<String, Long> counters) {

    public NetdevQstats {
        counters = Collections.unmodifiableMap(new LinkedHashMap<>(counters));
    }

    public OptionalLong counter(String name) {
        Long v = counters.get(name);
        return v == null ? OptionalLong.empty() : OptionalLong.of(v);
    }

    public OptionalLong rxPackets() {
        return counter("rx-packets");
    }

    public OptionalLong rxBytes() {
        return counter("rx-bytes");
    }

    public OptionalLong txPackets() {
        return counter("tx-packets");
    }

    public OptionalLong txBytes() {
        return counter("tx-bytes");
    }

    static NetdevQstats parse(NlAttributes a) throws DevmemProtocolException {
        Map<String, Long> counters = new LinkedHashMap<>();
        for (int i = 0; i < QSTATS_COUNTERS.length; i++) {
            OptionalLong v = a.uint(QSTATS_FIRST_COUNTER + i);
            if (v.isPresent()) {
                counters.put(QSTATS_COUNTERS[i], v.getAsLong());
            }
        }
        OptionalInt qt = a.u32(QSTATS_QUEUE_TYPE);
        return new NetdevQstats(a.requireU32(QSTATS_IFINDEX),
                qt.isPresent() ? QueueType.of(qt.getAsInt()) : Optional.empty(), a.u32(QSTATS_QUEUE_ID), counters);
    }
}
