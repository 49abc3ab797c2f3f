package dev.devmem.cli;

import dev.devmem.reactor.NicSetup;

/**
 * The NIC setup {@code --setup-nic} hands to {@link dev.devmem.reactor.DevmemReceiver#nicSetup} on the
 * Linux backend: the library's own, through ethtool netlink and the flow-steering ioctl (header split,
 * hds-thresh 0, ntuple, RSS kept off the devmem queues, a flow rule to the first one), undone when
 * the receive ends. See docs/nic-setup.md.
 */
final class CliNicSetup {
    private CliNicSetup() {
    }

    /** What to apply before binding a real NIC. */
    static NicSetup forLinux() {
        return NicSetup.kernel();
    }
}
