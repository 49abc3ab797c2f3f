package dev.devmem.ffm.linux;

import dev.devmem.ffm.rx.SocketEndpoint;
import dev.devmem.ffm.testing.LoopbackPair;
import dev.devmem.ffm.testing.SocketEndpointContract;

/** The contract, answered by the real kernel over loopback TCP. */
class LinuxSocketEndpointContractTest extends SocketEndpointContract {

    @Override
    protected Connection connect() throws Exception {
        LoopbackPair pair = LoopbackPair.open();
        return new Connection() {
            @Override
            public SocketEndpoint endpoint() {
                return pair.receiver();
            }

            @Override
            public void peerSend(byte[] data) throws Exception {
                pair.peerSend(data);
            }

            @Override
            public void peerShutdown() throws Exception {
                pair.peerShutdown();
            }

            @Override
            public void close() {
                pair.close();
            }
        };
    }
}
