package dev.devmem.cli;

import dev.devmem.api.DevmemUnsupportedException;
import dev.devmem.reactor.NicSetup;

/**
 * The NIC setup {@code --setup-nic} hands to {@link dev.devmem.reactor.DevmemReceiver#nicSetup} on the
 * Linux backend. This build has none: the implementation (header split, RSS, flow rule, with undo)
 * comes from devmem-ffm's NIC setup; wire it in {@link #forLinux()} and nowhere else.
 */
final class CliNicSetup {
    private CliNicSetup() {
    }

    /** What to apply before binding a real NIC. */
    static NicSetup forLinux() {
        return target -> {
            throw new DevmemUnsupportedException("NIC setup", null,
                    "NIC setup not available in this build (--setup-nic): prepare " + target.interfaceName()
                            + " by hand (header split on, RSS kept off rx queue" + (target.rxQueues().size() == 1 ? " " : "s ")
                            + ReceiveSession.join(target.rxQueues()) + ", a flow rule steering the flow there; "
                            + "docs/getting-started.md shows the ethtool commands) and run without --setup-nic");
        };
    }
}
