package dev.devmem.reactor.loop;

import io.micrometer.core.instrument.MeterRegistry;

import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiFunction;

/**
 * Recorders resolved once per (registry, name) and kept while the registry lives: a receiver or
 * sender subscribes many times, and registering its meters again each time would cost a lookup per
 * meter. The registry is weakly held so a discarded registry takes its recorders with it.
 */
public final class MeterCache<M> {
    private final Map<MeterRegistry, Map<String, M>> byRegistry = new WeakHashMap<>();

    public synchronized M get(MeterRegistry registry, String name, BiFunction<MeterRegistry, String, M> create) {
        return byRegistry.computeIfAbsent(registry, r -> new ConcurrentHashMap<>())
                .computeIfAbsent(name, n -> create.apply(registry, n));
    }
}
