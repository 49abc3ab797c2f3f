package dev.devmem.ffm.nicsetup;

import dev.devmem.api.DevmemException;
import dev.devmem.api.Errno;
import dev.devmem.api.SyscallException;
import dev.devmem.ffm.ethtool.Ethtool;
import dev.devmem.ffm.ethtool.EthtoolIoctl;
import dev.devmem.ffm.ethtool.FlowRule;
import dev.devmem.ffm.ethtool.RingsChange;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Takes one recorded change back: the same code for a handle's close, a failed setup's rollback and
 * the cleanup after a dead process. Each undo is safe to repeat, and safe for a change that was
 * recorded as pending but never reached the kernel.
 */
final class Restorer {
    private Restorer() {
    }

    /** Undoes {@code entry}; returns what was done, for reports. */
    static String undo(Ethtool e, String ifname, NicStateFile.Entry entry) throws DevmemException {
        NicChange c = entry.change();
        switch (c) {
            case NicChange.RingsChanged r -> {
                RingsChange back = RingsChange.none();
                if (r.previousSplit().isPresent()) {
                    back = back.withTcpDataSplit(r.previousSplit().get());
                }
                if (r.previousHdsThresh().isPresent()) {
                    back = back.withHdsThresh(r.previousHdsThresh().getAsLong());
                }
                if (!back.isEmpty()) {
                    e.setRings(ifname, back);
                }
                return "restored " + c.describe().replace(" -> ", " <- ");
            }
            case NicChange.FeatureChanged f -> {
                e.setFeatures(ifname, Map.of(f.feature(), f.previousWanted())).requireApplied();
                return "restored " + f.feature() + " " + (f.previousWanted() ? "on" : "off");
            }
            case NicChange.RssChanged r -> {
                if (r.restoreDefault()) {
                    e.resetRssIndirection(ifname);
                    return "restored the driver's default RSS spread";
                }
                e.setRssIndirection(ifname, r.previousTable().stream().mapToInt(Integer::intValue).toArray());
                return "restored the RSS indirection table " + r.previousTable();
            }
            case NicChange.FlowRuleAdded f -> {
                return removeRule(e.ioctl(), ifname, f);
            }
        }
    }

    private static String removeRule(EthtoolIoctl io, String ifname, NicChange.FlowRuleAdded f) throws DevmemException {
        List<Integer> candidates = new ArrayList<>();
        if (f.location().isPresent()) {
            candidates.add(f.location().getAsInt());
        } else {
            // the insert was under way when the owner died: a new rule that matches is ours
            for (int loc : io.ruleLocations(ifname)) {
                if (!f.preexisting().contains(loc)) {
                    candidates.add(loc);
                }
            }
        }
        List<String> done = new ArrayList<>();
        for (int loc : candidates) {
            FlowRule r;
            try {
                r = io.rule(ifname, loc);
            } catch (SyscallException gone) {
                if (gone.errno().equals(Errno.ENOENT) || gone.errno().equals(Errno.EINVAL)) {
                    done.add("flow rule at " + Integer.toUnsignedString(loc) + " already gone");
                    continue;
                }
                throw gone;
            }
            if (!r.matches(f.rule())) {
                done.add("left slot " + Integer.toUnsignedString(loc) + " alone: it now holds " + r.describe());
                continue;
            }
            io.deleteRule(ifname, loc);
            done.add("deleted flow rule " + r.describe());
        }
        return done.isEmpty() ? "no flow rule of ours found" : String.join(", ", done);
    }
}
