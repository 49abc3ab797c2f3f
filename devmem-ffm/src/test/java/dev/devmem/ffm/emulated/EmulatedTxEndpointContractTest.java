package dev.devmem.ffm.emulated;

import dev.devmem.ffm.rx.SocketEndpoint;
import dev.devmem.ffm.testing.TxEndpointContract;
import dev.devmem.ffm.testing.TxWire;

/** The TX contract answered by the emulated NIC: the kernel's assertions, unchanged. */
class EmulatedTxEndpointContractTest extends TxEndpointContract {

    @Override
    protected Connection connect(TxWire wire) throws Exception {
        EmulatedNic nic = EmulatedNic.create(EmulatedNicConfig.defaults());
        EmulatedEndpoint endpoint = nic.attach(wire.takeSender(), 0);
        return new Connection() {
            @Override
            public SocketEndpoint sender() {
                return endpoint;
            }

            @Override
            public TxWire wire() {
                return wire;
            }

            @Override
            public void close() {
                endpoint.close();
                wire.close();
                nic.close();
            }
        };
    }
}
