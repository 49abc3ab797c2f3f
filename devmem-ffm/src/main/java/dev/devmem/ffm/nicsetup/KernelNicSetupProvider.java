package dev.devmem.ffm.nicsetup;

import dev.devmem.api.DevmemException;
import dev.devmem.api.spi.KernelNicSetup;

import java.net.InetAddress;
import java.util.List;

/**
 * This module's {@link KernelNicSetup}, found through {@link java.util.ServiceLoader}: the request
 * turned into a {@link DevmemNicSetup} plan with one flow rule to the listen address.
 */
public final class KernelNicSetupProvider implements KernelNicSetup {

    @Override
    public Applied apply(String interfaceName, List<Integer> rxQueues, InetAddress localAddress, int localPort)
            throws DevmemException {
        NicSetupSpec spec = NicSetupSpec.of(interfaceName, rxQueues)
                .withFlow(DevmemFlow.to(localAddress, localPort));
        NicSetupHandle handle = DevmemNicSetup.apply(spec);
        return handle::close;
    }
}
