package dev.devmem.ffm.emulated;

import dev.devmem.api.DmabufSource;
import dev.devmem.ffm.rx.SocketEndpoint;
import dev.devmem.ffm.testing.SocketEndpointContract;

import java.util.List;

/** The engine's SocketEndpoint contract, answered by the emulated NIC: the kernel's assertions, unchanged. */
class EmulatedSocketEndpointContractTest extends SocketEndpointContract {

    @Override
    protected Connection connect() throws Exception {
        EmulatedNic nic = EmulatedNic.create(EmulatedNicConfig.defaults());
        EmulatedRxBinding binding = nic.bindRx(List.of(0), DmabufSource.emulated(1 << 16));
        Loopback wire = Loopback.open();
        EmulatedEndpoint endpoint = nic.attach(wire.takeReceiver(), 1); // a queue without dmabuf, as the contract asks
        return new Connection() {
            @Override
            public SocketEndpoint endpoint() {
                return endpoint;
            }

            @Override
            public void peerSend(byte[] data) throws Exception {
                wire.send(data);
            }

            @Override
            public void peerShutdown() {
                wire.shutdownSender();
            }

            @Override
            public void close() {
                endpoint.close();
                wire.close();
                binding.close();
                nic.close();
            }
        };
    }
}
