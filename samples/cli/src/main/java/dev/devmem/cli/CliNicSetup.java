package dev.devmem.cli;

import dev.devmem.ffm.DevmemBackends;
import dev.devmem.reactor.NicSetup;

import java.nio.file.Path;

/**
 * The NIC setup {@code --setup-nic} hands to {@link dev.devmem.reactor.DevmemReceiver#nicSetup} on the
 * Linux backend: the library's own, through ethtool netlink and the flow-steering ioctl (header split,
 * hds-thresh 0, ntuple, RSS kept off the devmem queues, a flow rule to the first one), undone when
 * the receive ends; with {@code --binder}, the same setup made and undone by devmem bindd. See
 * docs/nic-setup.md and docs/security.md.
 */
final class CliNicSetup {
    private CliNicSetup() {
    }

    /** What to apply before binding a real NIC. */
    static NicSetup forLinux() {
        return NicSetup.kernel();
    }

    /** The same setup, applied and restored by devmem bindd at {@code socket} with its CAP_NET_ADMIN. */
    static NicSetup viaBinder(Path socket) {
        return NicSetup.kernel(DevmemBackends.nicSetupViaBinder(socket));
    }
}
