package dev.devmem.ffm.nicsetup;

import dev.devmem.api.DevmemException;
import dev.devmem.api.DevmemUnsupportedException;
import dev.devmem.api.Errno;
import dev.devmem.api.NetlinkException;
import dev.devmem.api.SyscallException;
import dev.devmem.ffm.ethtool.Ethtool;
import dev.devmem.ffm.ethtool.EthtoolFeatures;
import dev.devmem.ffm.ethtool.EthtoolIoctl;
import dev.devmem.ffm.ethtool.EthtoolRings;
import dev.devmem.ffm.ethtool.EthtoolRss;
import dev.devmem.ffm.ethtool.EthtoolSpec;
import dev.devmem.ffm.ethtool.FeatureChange;
import dev.devmem.ffm.ethtool.FlowRule;
import dev.devmem.ffm.ethtool.FlowRuleSpec;
import dev.devmem.ffm.ethtool.RingsChange;
import dev.devmem.ffm.ethtool.TcpDataSplit;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.IntStream;

/** One step of a NIC setup: reads the current state, changes it only if needed, journals the change. */
sealed interface SetupStep {

    /** {@code header-split}, {@code feature rx-ntuple-filter}, {@code rss}, {@code flow-rule}. */
    String name();

    void apply(SetupContext ctx) throws DevmemException;

    /** tcp-data-split enabled and hds-thresh 0, where they are not already. */
    record HeaderSplit() implements SetupStep {
        @Override
        public String name() {
            return "header-split";
        }

        @Override
        public void apply(SetupContext ctx) throws DevmemException {
            Ethtool e = ctx.ethtool();
            String ifname = ctx.ifname();
            EthtoolRings rings;
            try {
                rings = e.rings(ifname);
            } catch (NetlinkException refused) {
                if (!refused.errno().equals(Errno.EOPNOTSUPP)) {
                    throw refused;
                }
                // Nothing to read. The kernel checks a set against the driver's header-split support
                // before anything else, so the set is refused too, with the reason in words.
                NicChange unknown = new NicChange.RingsChanged(Optional.of(TcpDataSplit.UNKNOWN), OptionalLong.empty());
                ctx.begin(unknown);
                try {
                    e.setRings(ifname, RingsChange.none().withTcpDataSplit(TcpDataSplit.ENABLED));
                } catch (DevmemException setRefused) {
                    ctx.refused(setRefused);
                    setRefused.addSuppressed(refused);
                    throw setRefused;
                }
                ctx.done(unknown); // a driver that sets what it cannot report: undo puts "unknown" (auto) back
                return;
            }
            TcpDataSplit before = rings.tcpDataSplit().orElse(TcpDataSplit.UNKNOWN);
            boolean split = before != TcpDataSplit.ENABLED;
            boolean hds = rings.hdsThresh().isPresent() && rings.hdsThresh().getAsLong() != 0;
            if (!split && !hds) {
                return;
            }
            RingsChange change = RingsChange.none();
            if (split) {
                change = change.withTcpDataSplit(TcpDataSplit.ENABLED);
            }
            if (hds) {
                change = change.withHdsThresh(0);
            }
            NicChange c = new NicChange.RingsChanged(split ? Optional.of(before) : Optional.empty(),
                    hds ? rings.hdsThresh() : OptionalLong.empty());
            ctx.begin(c);
            try {
                e.setRings(ifname, change);
            } catch (DevmemException refused) {
                ctx.refused(refused);
                throw refused;
            }
            ctx.done(c);
            EthtoolRings after = e.rings(ifname);
            if (!after.readyForDevmem()) {
                throw new SyscallException("ethtool rings-set " + ifname, Errno.EOPNOTSUPP, "the driver accepted "
                        + "tcp-data-split enabled and hds-thresh 0 but now reports tcp-data-split "
                        + after.tcpDataSplit().map(TcpDataSplit::label).orElse("(not reported)") + ", hds-thresh "
                        + (after.hdsThresh().isPresent() ? after.hdsThresh().getAsLong() : "(not reported)"));
            }
        }
    }

    /** A feature on or off (ntuple for flow steering), where it is not already. */
    record Feature(String feature, boolean on) implements SetupStep {
        @Override
        public String name() {
            return "feature " + feature;
        }

        @Override
        public void apply(SetupContext ctx) throws DevmemException {
            Ethtool e = ctx.ethtool();
            String ifname = ctx.ifname();
            EthtoolFeatures fs = e.features(ifname);
            EthtoolFeatures.Feature f = fs.feature(feature).orElseThrow(() -> new DevmemUnsupportedException(
                    "ethtool feature " + feature, null, "this kernel has no netdev feature named " + feature));
            if (f.active() == on) {
                return;
            }
            NicChange c = new NicChange.FeatureChanged(feature, f.wanted(), on);
            ctx.begin(c);
            FeatureChange result;
            try {
                result = e.setFeatures(ifname, Map.of(feature, on));
            } catch (DevmemException refused) {
                ctx.refused(refused);
                throw refused;
            }
            if (!result.fullyApplied() && result.changed().isEmpty() && f.fixed()) {
                ctx.abandon(); // the kernel ignored a fixed bit: nothing changed
            } else {
                ctx.done(c);
            }
            result.requireApplied();
        }
    }

    /**
     * The RSS indirection table rewritten so that hashed traffic goes only to queues below the lowest
     * devmem queue (slot i to queue i mod that queue), where it reaches a devmem queue now.
     */
    record RssAvoiding(Set<Integer> devmemQueues) implements SetupStep {
        public RssAvoiding {
            devmemQueues = Set.copyOf(new TreeSet<>(devmemQueues));
        }

        @Override
        public String name() {
            return "rss";
        }

        @Override
        public void apply(SetupContext ctx) throws DevmemException {
            Ethtool e = ctx.ethtool();
            String ifname = ctx.ifname();
            int first = devmemQueues.stream().mapToInt(Integer::intValue).min().orElseThrow();
            EthtoolRss rss = e.rss(ifname);
            List<Integer> table = rss.indirection();
            if (table.isEmpty()) {
                throw new SyscallException("ethtool rss-get " + ifname, Errno.EOPNOTSUPP,
                        "the driver reports no RSS indirection table to steer ordinary traffic away from the devmem queues");
            }
            if (table.stream().noneMatch(devmemQueues::contains)) {
                return;
            }
            int[] next = IntStream.range(0, table.size()).map(i -> i % first).toArray();
            boolean restoreDefault = rss.isDefaultSpread(rxRings(e, ifname));
            NicChange c = new NicChange.RssChanged(table, restoreDefault, Arrays.stream(next).boxed().toList());
            ctx.begin(c);
            try {
                e.setRssIndirection(ifname, next);
            } catch (DevmemException refused) {
                ctx.refused(refused);
                throw refused;
            }
            ctx.done(c);
            List<Integer> now = e.rss(ifname).indirection();
            if (!now.equals(Arrays.stream(next).boxed().toList())) {
                throw new SyscallException("ethtool rss-set " + ifname, Errno.EIO,
                        "the driver accepted the indirection table but reports " + now);
            }
        }

        /** The rx ring count the driver's default spread uses; 0 when it cannot be told. */
        static int rxRings(Ethtool e, String ifname) {
            try {
                return e.ioctl().rxRings(ifname);
            } catch (DevmemException notByIoctl) {
                try {
                    return e.channels(ifname).rxQueues();
                } catch (DevmemException notAtAll) {
                    return 0;
                }
            }
        }
    }

    /** A flow-steering rule to the devmem queue; a refused 5-tuple falls back to the 3-tuple, like ncdevmem. */
    record FlowRuleStep(FlowRuleSpec rule, boolean fallBackToThreeTuple) implements SetupStep {
        @Override
        public String name() {
            return "flow-rule";
        }

        @Override
        public void apply(SetupContext ctx) throws DevmemException {
            EthtoolIoctl io = ctx.ethtool().ioctl();
            String ifname = ctx.ifname();
            int[] locations = io.ruleLocations(ifname);
            List<Integer> preexisting = Arrays.stream(locations).boxed().toList();
            for (int loc : locations) {
                FlowRule r = io.rule(ifname, loc);
                if (r.matches(rule)) {
                    return; // the user's own rule does it already; it stays theirs
                }
            }
            FlowRuleSpec tried = rule;
            ctx.begin(new NicChange.FlowRuleAdded(tried, OptionalInt.empty(), preexisting));
            int loc;
            try {
                loc = io.insertRule(ifname, tried);
            } catch (SyscallException first) {
                if (!fallBackToThreeTuple || !rule.fiveTuple() || first.errno().equals(Errno.EPERM)
                        || first.errno().equals(Errno.ENODEV)) {
                    ctx.refused(first);
                    throw first;
                }
                tried = rule.threeTuple();
                ctx.replacePending(new NicChange.FlowRuleAdded(tried, OptionalInt.empty(), preexisting));
                try {
                    loc = io.insertRule(ifname, tried);
                } catch (SyscallException second) {
                    ctx.refused(second);
                    second.addSuppressed(first);
                    throw second;
                }
            }
            ctx.done(new NicChange.FlowRuleAdded(tried, OptionalInt.of(loc), preexisting));
        }
    }

    /** Names of steps, for messages. */
    static List<String> names(List<SetupStep> steps) {
        List<String> out = new ArrayList<>();
        steps.forEach(s -> out.add(s.name()));
        return out;
    }

    /** The ntuple step of the devmem plan. */
    static SetupStep ntuple() {
        return new Feature(EthtoolSpec.FEATURE_NTUPLE, true);
    }
}
