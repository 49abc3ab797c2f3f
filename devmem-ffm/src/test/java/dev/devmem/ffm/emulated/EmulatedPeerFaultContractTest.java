package dev.devmem.ffm.emulated;

import dev.devmem.api.DmabufSource;
import dev.devmem.api.spi.DevmemBackend;
import dev.devmem.ffm.testing.PeerFaultContract;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The peer-fault contract answered by the emulated devmem NIC: every flow is steered to rx queue 0,
 * which has a small dmabuf bound (64 buffers), so every byte arrives as DMABUF frags with tokens, and
 * the kernel's assertions hold unchanged.
 */
class EmulatedPeerFaultContractTest extends PeerFaultContract {
    private static final int FRAG = 4096;

    private EmulatedBackend backend;
    private EmulatedRxBinding binding;

    @Override
    protected DevmemBackend openBackend() throws Exception {
        backend = EmulatedBackend.create(EmulatedNicConfig.defaults().withRxQueues(2).withFragSize(FRAG)
                .withFlowSteering(FlowSteering.toQueue(0)));
        binding = backend.nic().bindRx(List.of(0), DmabufSource.emulated(64L * FRAG));
        return backend;
    }

    @Override
    protected int fragSize() {
        return FRAG;
    }

    @Override
    protected void assertNothingHeld() {
        EmulatedNicStats stats = backend.nic().stats();
        assertThat(stats.tokensOutstanding()).as("tokens outstanding on the NIC").isZero();
        assertThat(stats.buffersHeld()).as("rx buffers held").isZero();
        assertThat(stats.plainBytes()).as("every byte came as DMABUF frags").isZero();
        assertThat(binding.buffersFree()).isEqualTo(binding.bufferCount());
    }

    @Override
    protected void closeBackend() {
        binding.close();
        backend.close();
        assertThat(binding.isMemoryReleased()).isTrue();
    }
}
