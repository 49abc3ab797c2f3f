package dev.devmem.ffm.nicsetup;

import java.nio.file.Path;

/**
 * A process that sets up an interface and dies without restoring it ({@code Runtime.halt} skips
 * shutdown hooks, as SIGKILL would). Run by {@link NicSetupTest} under {@code ip netns exec}.
 * Arguments: state directory, interface, feature to switch on.
 */
public final class CrashingSetup {
    private CrashingSetup() {
    }

    public static void main(String[] args) throws Exception {
        NicSetupHandle h = NicSetupPlan.on(args[1]).stateDir(Path.of(args[0])).feature(args[2], true).apply();
        System.out.println("applied " + h.changes() + " in " + h.stateFile());
        System.out.flush();
        Runtime.getRuntime().halt(0);
    }
}
