package dev.devmem.benchmarks.peers;

import dev.devmem.api.DmabufSource;
import dev.devmem.api.RxBindingSpec;
import dev.devmem.ffm.DevmemBackends;
import dev.devmem.ffm.emulated.EmulatedBackend;
import dev.devmem.ffm.emulated.EmulatedNicConfig;
import dev.devmem.reactor.DevmemReceiver;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The scaling contender: one {@code listen()} takes FLOWS connections and streams them all as
 * {@code Flux<DevmemFrag>} on LOOPS I/O loops, releasing every frag; prints the bytes of all flows.
 * Usage: {@code ScalingReceiver linux|emulated LOOPS FLOWS PORT}.
 */
public final class ScalingReceiver {
    private ScalingReceiver() {
    }

    public static void main(String[] args) throws Exception {
        boolean emulated = args[0].equals("emulated");
        int loops = Integer.parseInt(args[1]);
        int flows = Integer.parseInt(args[2]);
        InetSocketAddress listen = new InetSocketAddress("127.0.0.1", Integer.parseInt(args[3]));
        AtomicLong bytes = new AtomicLong();
        if (emulated) {
            EmulatedNicConfig config = EmulatedNicConfig.defaults().withFlowSteering((l, r, n) -> 0);
            try (EmulatedBackend backend = DevmemBackends.emulated(config)) {
                run(DevmemReceiver.create(backend).ioThreads(loops).binding(new RxBindingSpec(config.interfaceName(),
                        List.of(0), DmabufSource.emulated(256L << 20))), listen, flows, bytes);
            }
        } else {
            run(DevmemReceiver.create(DevmemBackends.linux()).ioThreads(loops), listen, flows, bytes);
        }
        System.out.println(bytes.get());
        System.out.flush();
        System.exit(0);
    }

    private static void run(DevmemReceiver receiver, InetSocketAddress listen, int flows, AtomicLong total) {
        receiver.listen(listen).take(flows)
                .flatMap(c -> c.receive().doOnNext(f -> {
                    total.addAndGet(f.length());
                    f.release();
                }).then(), flows)
                .blockLast();
    }
}
