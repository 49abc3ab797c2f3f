package dev.devmem.ffm.nicsetup;

import dev.devmem.ffm.ethtool.FlowRuleSpec;
import dev.devmem.ffm.ethtool.TcpDataSplit;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;

/**
 * One change a NIC setup made to an interface, holding what is needed to take it back. These are
 * also what the state file records (before the change is made), so that a later process can undo
 * the changes of one that died.
 */
public sealed interface NicChange {

    /** A short line for logs and errors, e.g. {@code tcp-data-split disabled -> enabled}. */
    String describe();

    /** The step that made it: {@code header-split}, {@code feature}, {@code rss}, {@code flow-rule}. */
    String step();

    /**
     * Header split switched on ({@code rings-set}).
     *
     * @param previousSplit the tcp-data-split state to put back; empty when it was not changed
     * @param previousHdsThresh the hds-thresh to put back; empty when it was not changed
     */
    record RingsChanged(Optional<TcpDataSplit> previousSplit, OptionalLong previousHdsThresh) implements NicChange {
        public RingsChanged {
            Objects.requireNonNull(previousSplit, "previousSplit");
            Objects.requireNonNull(previousHdsThresh, "previousHdsThresh");
        }

        @Override
        public String step() {
            return "header-split";
        }

        @Override
        public String describe() {
            List<String> parts = new ArrayList<>();
            previousSplit.ifPresent(s -> parts.add("tcp-data-split " + s.label() + " -> enabled"));
            if (previousHdsThresh.isPresent()) {
                parts.add("hds-thresh " + previousHdsThresh.getAsLong() + " -> 0");
            }
            return String.join(", ", parts);
        }
    }

    /** A feature turned on or off ({@code features-set}); {@code previousWanted} is put back. */
    record FeatureChanged(String feature, boolean previousWanted, boolean now) implements NicChange {
        public FeatureChanged {
            Objects.requireNonNull(feature, "feature");
        }

        @Override
        public String step() {
            return "feature";
        }

        @Override
        public String describe() {
            return feature + " " + (previousWanted ? "on" : "off") + " -> " + (now ? "on" : "off");
        }
    }

    /**
     * The RSS indirection table rewritten so that hashed traffic avoids the devmem queues.
     *
     * @param restoreDefault put the driver's default spread back (the old table was the default),
     *                       rather than the old table as an explicit setting
     */
    record RssChanged(List<Integer> previousTable, boolean restoreDefault, List<Integer> newTable) implements NicChange {
        public RssChanged {
            previousTable = List.copyOf(previousTable);
            newTable = List.copyOf(newTable);
        }

        @Override
        public String step() {
            return "rss";
        }

        @Override
        public String describe() {
            return "rss indirection over " + previousTable.stream().distinct().sorted().toList() + " -> over "
                    + newTable.stream().distinct().sorted().toList();
        }
    }

    /**
     * A flow-steering rule inserted. While the insert is under way the slot is not known
     * ({@code location} empty); {@code preexisting} (the slots in use before) then tells ours apart.
     */
    record FlowRuleAdded(FlowRuleSpec rule, OptionalInt location, List<Integer> preexisting) implements NicChange {
        public FlowRuleAdded {
            Objects.requireNonNull(rule, "rule");
            Objects.requireNonNull(location, "location");
            preexisting = List.copyOf(preexisting);
        }

        @Override
        public String step() {
            return "flow-rule";
        }

        @Override
        public String describe() {
            return "flow rule " + rule.describe()
                    + (location.isPresent() ? " at " + Integer.toUnsignedString(location.getAsInt()) : " (slot unknown)");
        }
    }

    // ---- the state file's form

    static Map<String, Object> toJson(NicChange c, boolean done) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("step", c.step());
        m.put("status", done ? "done" : "pending");
        switch (c) {
            case RingsChanged r -> {
                m.put("tcpDataSplit", r.previousSplit().map(TcpDataSplit::value).map(Long::valueOf).orElse(null));
                m.put("hdsThresh", r.previousHdsThresh().isPresent() ? r.previousHdsThresh().getAsLong() : null);
            }
            case FeatureChanged f -> {
                m.put("feature", f.feature());
                m.put("previousWanted", f.previousWanted());
                m.put("now", f.now());
            }
            case RssChanged r -> {
                m.put("previousTable", longs(r.previousTable()));
                m.put("restoreDefault", r.restoreDefault());
                m.put("newTable", longs(r.newTable()));
            }
            case FlowRuleAdded f -> {
                FlowRuleSpec s = f.rule();
                m.put("flowType", s.flowType().label());
                m.put("dst", s.dst().getHostAddress());
                m.put("dstPort", (long) s.dstPort());
                m.put("src", s.src().map(InetAddress::getHostAddress).orElse(null));
                m.put("srcPort", s.srcPort().isPresent() ? (Object) (long) s.srcPort().getAsInt() : null);
                m.put("queue", (long) s.queue());
                m.put("location", f.location().isPresent() ? (Object) Integer.toUnsignedLong(f.location().getAsInt()) : null);
                m.put("preexisting", f.preexisting().stream().map(Integer::toUnsignedLong).toList());
            }
        }
        return m;
    }

    static NicChange fromJson(Map<?, ?> m) {
        String step = (String) m.get("step");
        return switch (step) {
            case "header-split" -> new RingsChanged(
                    Optional.ofNullable((Long) m.get("tcpDataSplit")).flatMap(v -> TcpDataSplit.of(v.intValue())),
                    m.get("hdsThresh") == null ? OptionalLong.empty() : OptionalLong.of((Long) m.get("hdsThresh")));
            case "feature" -> new FeatureChanged((String) m.get("feature"), (Boolean) m.get("previousWanted"),
                    (Boolean) m.get("now"));
            case "rss" -> new RssChanged(ints(m.get("previousTable")), (Boolean) m.get("restoreDefault"),
                    ints(m.get("newTable")));
            case "flow-rule" -> {
                InetAddress dst = address((String) m.get("dst"));
                Optional<InetAddress> src = Optional.ofNullable((String) m.get("src")).map(NicChange::address);
                OptionalInt srcPort = m.get("srcPort") == null ? OptionalInt.empty()
                        : OptionalInt.of(((Long) m.get("srcPort")).intValue());
                FlowRuleSpec spec = new FlowRuleSpec(dst, ((Long) m.get("dstPort")).intValue(), src, srcPort,
                        ((Long) m.get("queue")).intValue(), FlowRuleSpec.LOC_ANY);
                OptionalInt loc = m.get("location") == null ? OptionalInt.empty()
                        : OptionalInt.of(((Long) m.get("location")).intValue());
                yield new FlowRuleAdded(spec, loc, ints(m.get("preexisting")));
            }
            default -> throw new IllegalArgumentException("unknown step \"" + step + "\"");
        };
    }

    private static List<Long> longs(List<Integer> l) {
        return l.stream().map(Integer::toUnsignedLong).toList();
    }

    private static List<Integer> ints(Object o) {
        List<Integer> out = new ArrayList<>();
        for (Object x : (List<?>) o) {
            out.add(((Long) x).intValue());
        }
        return out;
    }

    private static InetAddress address(String literal) {
        try {
            return InetAddress.ofLiteral(literal);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("not an IP address: " + literal, e);
        }
    }
}
