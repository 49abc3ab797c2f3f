package dev.devmem.reactor;

import dev.devmem.api.DevmemException;
import dev.devmem.reactor.loop.SpiServices;

/**
 * {@link NicSetup#kernel()}: the receiver's target checked here, then applied by the backend module's
 * {@link dev.devmem.api.spi.KernelNicSetup} (devmem-ffm's {@code DevmemNicSetup}), or by the one
 * given to {@link NicSetup#kernel(dev.devmem.api.spi.KernelNicSetup)} (e.g. through devmem bindd).
 */
final class KernelNicSetup implements NicSetup {
    static final KernelNicSetup INSTANCE = new KernelNicSetup(null);

    /** Null: the backend module's, found through the ServiceLoader when first applied. */
    private final dev.devmem.api.spi.KernelNicSetup provider;

    KernelNicSetup(dev.devmem.api.spi.KernelNicSetup provider) {
        this.provider = provider;
    }

    @Override
    public Undo apply(Target target) throws DevmemException {
        if (target.interfaceName() == null || target.rxQueues().isEmpty()) {
            throw new IllegalArgumentException("NicSetup.kernel() needs a receiver that binds: set interfaceName, "
                    + "rxQueues and dmabuf");
        }
        if (target.local() == null) {
            throw new IllegalArgumentException("NicSetup.kernel() steers flows to a listen address; a client-side "
                    + "receiver (connect) needs a flow rule of its own");
        }
        if (target.local().getAddress() == null || target.local().getAddress().isAnyLocalAddress()) {
            throw new IllegalArgumentException("NicSetup.kernel() needs a concrete local address for the flow rule, "
                    + "not " + target.local());
        }
        if (target.local().getPort() == 0) {
            throw new IllegalArgumentException("NicSetup.kernel() needs the listen port for the flow rule; "
                    + "port 0 (any free port) is only known after listening");
        }
        var setup = provider == null ? SpiServices.kernelNicSetup() : provider;
        var applied = setup.apply(target.interfaceName(), target.rxQueues(), target.local().getAddress(),
                target.local().getPort());
        return applied::close;
    }

    @Override
    public String toString() {
        return provider == null ? "NicSetup.kernel()" : "NicSetup.kernel(" + provider + ")";
    }
}
