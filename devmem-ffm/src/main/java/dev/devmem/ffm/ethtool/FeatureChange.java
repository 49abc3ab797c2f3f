package dev.devmem.ffm.ethtool;

import dev.devmem.api.Errno;
import dev.devmem.api.SyscallException;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * What a {@code features-set} did. The kernel accepts a request for a feature the driver cannot
 * change and simply leaves it as it is; its reply lists those ({@code wanted}: the requested value of
 * each feature whose state now differs from the request) and every feature whose active state
 * changed, requested or as a consequence ({@code active}).
 *
 * @param requested  feature name to requested state
 * @param notApplied feature name to requested state, for requests the device did not follow
 * @param changed    feature name to new active state, for every feature that changed
 */
public record FeatureChange(String ifname, Map<String, Boolean> requested, Map<String, Boolean> notApplied,
                            Map<String, Boolean> changed) {

    public FeatureChange {
        requested = Collections.unmodifiableMap(new LinkedHashMap<>(requested));
        notApplied = Collections.unmodifiableMap(new LinkedHashMap<>(notApplied));
        changed = Collections.unmodifiableMap(new LinkedHashMap<>(changed));
    }

    public boolean fullyApplied() {
        return notApplied.isEmpty();
    }

    /**
     * Returns this change when every request took effect; otherwise throws {@code EOPNOTSUPP} naming
     * the features the device kept as they were (fixed by the driver, or held by a dependency).
     */
    public FeatureChange requireApplied() throws SyscallException {
        if (notApplied.isEmpty()) {
            return this;
        }
        String which = notApplied.entrySet().stream()
                .map(e -> e.getKey() + " stayed " + (e.getValue() ? "off" : "on") + " (requested "
                        + (e.getValue() ? "on" : "off") + ")")
                .collect(Collectors.joining(", "));
        throw new SyscallException("ethtool features-set " + ifname, Errno.EOPNOTSUPP,
                "the kernel accepted the request but the device did not follow it: " + which
                        + "; the driver does not let it change (ethtool -k shows it [fixed]) or another feature holds it");
    }
}
