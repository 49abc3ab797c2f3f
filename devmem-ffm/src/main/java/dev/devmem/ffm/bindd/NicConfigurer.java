package dev.devmem.ffm.bindd;

import dev.devmem.api.DevmemException;
import dev.devmem.api.Errno;
import dev.devmem.api.SyscallException;
import dev.devmem.ffm.emulated.EmulatedNicConfig;
import dev.devmem.ffm.nicsetup.DevmemFlow;
import dev.devmem.ffm.nicsetup.DevmemNicSetup;
import dev.devmem.ffm.nicsetup.NicChange;
import dev.devmem.ffm.nicsetup.NicSetupHandle;
import dev.devmem.ffm.nicsetup.NicSetupSpec;

import java.nio.file.Path;
import java.util.List;

/**
 * What the daemon prepares a NIC with for a client's NIC_SETUP request: the kernel, through the same
 * {@link DevmemNicSetup} an application with CAP_NET_ADMIN would call ({@link #kernel}), or, for a
 * daemon over the emulated NIC, the emulated NIC's control plane, which has nothing to change
 * ({@link #emulated}). Called on a client connection's thread, in the daemon's network namespace.
 */
@FunctionalInterface
interface NicConfigurer {

    /**
     * Applies the devmem setup the request describes.
     *
     * @throws DevmemException the kernel's refusal (a {@code NicSetupException} with the step and the
     *                         kernel's extack text, or ENODEV), relayed to the client as is
     */
    Applied apply(NicWire.NicSetupRequest request) throws DevmemException;

    /** A NIC setup the daemon holds for one client connection. */
    interface Applied {
        String ifname();

        /** What the setup changed, in order (empty when everything was already right). */
        List<String> changes();

        /** Restores exactly what was changed; at most once. */
        void undo() throws DevmemException;
    }

    /** The devmem setup through the kernel's interfaces, recorded under {@code stateDir} while in place. */
    static NicConfigurer kernel(Path stateDir) {
        return r -> {
            NicSetupSpec spec = NicSetupSpec.of(r.ifname(), r.queues()).withFlow(DevmemFlow.to(r.address(), r.port()))
                    .withStateDir(stateDir);
            return of(DevmemNicSetup.apply(spec));
        };
    }

    /** A {@link NicSetupHandle} as a held setup. */
    static Applied of(NicSetupHandle h) {
        List<String> changes = h.changes().stream().map(NicChange::describe).toList();
        return new Applied() {
            @Override
            public String ifname() {
                return h.ifname();
            }

            @Override
            public List<String> changes() {
                return changes;
            }

            @Override
            public void undo() throws DevmemException {
                h.close();
            }
        };
    }

    /**
     * The emulated NIC's answer: its interface and queues are checked as bind-rx checks them, and
     * nothing is changed, because its header split and flow steering are its configuration.
     */
    static NicConfigurer emulated(EmulatedNicConfig nic) {
        return r -> {
            if (!r.ifname().equals(nic.interfaceName())) {
                throw new SyscallException("NIC setup of " + r.ifname(), Errno.ENODEV, "the emulated NIC is "
                        + nic.interfaceName() + "; there is no interface " + r.ifname() + " on it");
            }
            for (int q : r.queues()) {
                if (q >= nic.rxQueues()) {
                    throw new SyscallException("NIC setup of " + r.ifname(), Errno.EINVAL, "rx queue " + q
                            + " does not exist: " + r.ifname() + " has " + nic.rxQueues() + " rx queues");
                }
            }
            return new Applied() {
                @Override
                public String ifname() {
                    return r.ifname();
                }

                @Override
                public List<String> changes() {
                    return List.of();
                }

                @Override
                public void undo() {
                    // nothing was changed
                }
            };
        };
    }
}
