package dev.devmem.ffm.linux;

import dev.devmem.ffm.rx.SocketEndpoint;
import dev.devmem.ffm.testing.TxEndpointContract;
import dev.devmem.ffm.testing.TxWire;

/** The TX contract answered by the real kernel: where the fact sheet's claims are checked again on every run. */
class LinuxTxEndpointContractTest extends TxEndpointContract {

    @Override
    protected Connection connect(TxWire wire) {
        LinuxSocketEndpoint endpoint = new LinuxSocketEndpoint(wire.takeSender());
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
            }
        };
    }
}
