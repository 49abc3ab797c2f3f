package dev.devmem.benchmarks.peers;

import dev.devmem.api.DevmemFragBatch;
import dev.devmem.api.DmabufSource;
import dev.devmem.api.RxBindingSpec;
import dev.devmem.ffm.DevmemBackends;
import dev.devmem.ffm.emulated.EmulatedBackend;
import dev.devmem.ffm.emulated.EmulatedNicConfig;
import dev.devmem.reactor.DevmemReceiver;

import java.net.InetSocketAddress;
import java.util.List;

/**
 * This library: {@link DevmemReceiver#receiveOne} on the Linux backend (loopback gives HOST frags
 * from {@code recvmsg(MSG_SOCK_DEVMEM)}) or on the emulated devmem NIC (DMABUF frags in its memfd),
 * every frag released as soon as it is seen.
 */
final class DevmemReceive {
    private DevmemReceive() {
    }

    static long linux(InetSocketAddress listen, boolean batches) {
        DevmemReceiver receiver = DevmemReceiver.create(DevmemBackends.linux());
        return batches ? batches(receiver, listen) : frags(receiver, listen);
    }

    static long emulated(InetSocketAddress listen) throws Exception {
        EmulatedNicConfig config = EmulatedNicConfig.defaults().withFlowSteering((local, remote, n) -> 0);
        try (EmulatedBackend backend = DevmemBackends.emulated(config)) {
            DevmemReceiver receiver = DevmemReceiver.create(backend)
                    .binding(new RxBindingSpec(config.interfaceName(), List.of(0), DmabufSource.emulated(64L << 20)));
            return frags(receiver, listen);
        }
    }

    /** Flux&lt;DevmemFrag&gt;: sums the lengths on the I/O thread and releases each frag. */
    static long frags(DevmemReceiver receiver, InetSocketAddress listen) {
        long[] bytes = new long[1];
        receiver.receiveOne(listen).doOnNext(f -> {
            bytes[0] += f.length();
            f.release();
        }).blockLast();
        return bytes[0];
    }

    /** Flux&lt;DevmemFragBatch&gt;: one object per recvmsg, all of its frags released at once. */
    static long batches(DevmemReceiver receiver, InetSocketAddress listen) {
        long[] bytes = new long[1];
        receiver.listen(listen).take(1).concatMap(c -> c.receiveBatches()).doOnNext((DevmemFragBatch b) -> {
            bytes[0] += b.bytes();
            b.releaseAll();
        }).blockLast();
        return bytes[0];
    }
}
