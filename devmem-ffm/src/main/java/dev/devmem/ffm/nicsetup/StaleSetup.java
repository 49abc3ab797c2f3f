package dev.devmem.ffm.nicsetup;

import java.nio.file.Path;
import java.util.List;

/**
 * A recorded NIC setup found in the state directory, and what cleanup did about it.
 *
 * @param ownerAlive whether the process that made it still runs (then it was left alone)
 * @param changes    the changes the file records, oldest first
 * @param actions    what cleanup did, e.g. {@code restored rx-ntuple-filter off}
 * @param failures   what cleanup could not undo
 * @param removed    whether the file is gone (everything undone, or nothing left to undo)
 */
public record StaleSetup(Path file, String ifname, int ifindex, long pid, boolean ownerAlive, String started,
                         List<NicChange> changes, List<String> actions, List<String> failures, boolean removed) {

    public StaleSetup {
        changes = List.copyOf(changes);
        actions = List.copyOf(actions);
        failures = List.copyOf(failures);
    }
}
