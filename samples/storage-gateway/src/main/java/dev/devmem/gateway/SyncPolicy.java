package dev.devmem.gateway;

import java.time.Duration;
import java.util.Objects;

/**
 * When a flow's writer makes its bytes durable, and so when its frags' tokens go back.
 *
 * <ul>
 * <li>{@link Mode#GROUP} (default): group commit. The writer writes whatever has arrived and syncs
 *     once when it has nothing more to write right now, or after {@code groupBytes}: under load one
 *     fsync covers many frags; an idle flow gets its tokens back at once.</li>
 * <li>{@link Mode#OBJECT}: one sync at the end of the object, plus the ones the token budget forces:
 *     when the flow holds {@code pressureFraction} of its budget, or has held frags for {@code holdTimeout}
 *     with nothing new arriving (flows share the NIC's buffer pool, so another flow may be the one
 *     that needs them). Fewer fsyncs, tokens held longer.</li>
 * </ul>
 */
public record SyncPolicy(Mode mode, long groupBytes, double pressureFraction, Duration holdTimeout) {

    public enum Mode { GROUP, OBJECT }

    public SyncPolicy {
        Objects.requireNonNull(mode, "mode");
        Objects.requireNonNull(holdTimeout, "holdTimeout");
        if (groupBytes < 1) {
            throw new IllegalArgumentException("groupBytes must be >= 1, was " + groupBytes);
        }
        if (!(pressureFraction > 0 && pressureFraction <= 1)) {
            throw new IllegalArgumentException("pressureFraction must be in (0, 1], was " + pressureFraction);
        }
    }

    public static SyncPolicy group() {
        return new SyncPolicy(Mode.GROUP, 8L << 20, 0.5, Duration.ZERO);
    }

    public static SyncPolicy object() {
        return new SyncPolicy(Mode.OBJECT, Long.MAX_VALUE, 0.5, Duration.ofMillis(50));
    }
}
