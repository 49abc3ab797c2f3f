package dev.devmem.ffm.linux;

import dev.devmem.api.spi.DevmemBackend;
import dev.devmem.ffm.testing.PeerFaultContract;

/**
 * The peer-fault contract answered by this host's kernel: its own TCP sockets on loopback (no devmem
 * queue receives them, so every frag is HOST), through the Linux backend's listener and engine.
 */
class LinuxPeerFaultContractTest extends PeerFaultContract {

    @Override
    protected DevmemBackend openBackend() {
        return new LinuxBackend();
    }

    @Override
    protected int fragSize() {
        return 4096; // PAGE_SIZE: a devmem NIC's frags here; on loopback only the byte counts matter
    }

    @Override
    protected void closeBackend() {
        // the Linux backend holds nothing of its own
    }
}
