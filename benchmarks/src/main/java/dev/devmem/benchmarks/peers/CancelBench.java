package dev.devmem.benchmarks.peers;

import dev.devmem.api.DmabufSource;
import dev.devmem.api.RxBindingSpec;
import dev.devmem.ffm.DevmemBackends;
import dev.devmem.ffm.emulated.EmulatedBackend;
import dev.devmem.ffm.emulated.EmulatedNicConfig;
import dev.devmem.reactor.DevmemConnection;
import dev.devmem.reactor.DevmemReceiver;
import org.HdrHistogram.Histogram;
import reactor.core.Disposable;

import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Cancel → closed, with a silent peer (issue 11: cancel must take effect within 100 ms). Per run: a
 * receiver on the emulated NIC (with its dmabuf binding) accepts one connection whose peer connects
 * and sends nothing; the subscription is cancelled; measured from the cancel until (a) the peer's
 * read sees the receiver's close (end of stream or reset: the socket is gone in the kernel) and
 * (b) the NIC has no live binding left. Prints a markdown table. Usage: {@code CancelBench RUNS}.
 */
public final class CancelBench {
    private CancelBench() {
    }

    public static void main(String[] args) throws Exception {
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 200;
        Histogram socket = new Histogram(TimeUnit.SECONDS.toNanos(10), 3);
        Histogram binding = new Histogram(TimeUnit.SECONDS.toNanos(10), 3);
        EmulatedNicConfig config = EmulatedNicConfig.defaults().withFlowSteering((l, r, n) -> 0);
        try (EmulatedBackend backend = DevmemBackends.emulated(config)) {
            for (int i = 0; i < runs + 5; i++) { // the first 5 warm up
                long[] t = once(backend, config);
                if (i >= 5) {
                    socket.recordValue(t[0]);
                    binding.recordValue(t[1]);
                }
            }
        }
        System.out.println("| cancel → | runs | p50 ms | p99 ms | max ms |");
        System.out.println("|---|---|---|---|---|");
        row("socket closed (the silent peer's read ends)", socket);
        row("dmabuf binding closed (NIC has no live binding)", binding);
    }

    private static void row(String what, Histogram h) {
        System.out.printf(Locale.ROOT, "| %s | %d | %.3f | **%.3f** | %.3f |%n", what, h.getTotalCount(),
                h.getValueAtPercentile(50) / 1e6, h.getValueAtPercentile(99) / 1e6, h.getMaxValue() / 1e6);
    }

    /** One run: {nanos to the peer seeing the close, nanos to no live binding}. */
    static long[] once(EmulatedBackend backend, EmulatedNicConfig config) throws Exception {
        int port = ProcessRun.freePort();
        InetSocketAddress addr = new InetSocketAddress("127.0.0.1", port);
        DevmemReceiver receiver = DevmemReceiver.create(backend)
                .binding(new RxBindingSpec(config.interfaceName(), List.of(0), DmabufSource.emulated(16L << 20)));
        CompletableFuture<DevmemConnection> accepted = new CompletableFuture<>();
        Disposable subscription = receiver.listen(addr).take(1)
                .concatMap(c -> {
                    accepted.complete(c);
                    return c.receive();
                })
                .subscribe(f -> f.release(), e -> accepted.completeExceptionally(e));
        try (Socket peer = connect(addr)) {
            accepted.get(30, TimeUnit.SECONDS);
            InputStream in = peer.getInputStream();
            AtomicReference<Long> closedAt = new AtomicReference<>();
            Thread reader = Thread.ofPlatform().start(() -> {
                try {
                    in.read();
                } catch (java.io.IOException e) {
                    // a reset is a close too
                }
                closedAt.set(System.nanoTime());
            });
            long start = System.nanoTime();
            subscription.dispose();
            long bindingGone = -1;
            while (bindingGone < 0 || closedAt.get() == null) {
                if (bindingGone < 0 && backend.nic().liveBindings().isEmpty()) {
                    bindingGone = System.nanoTime();
                }
                if (System.nanoTime() - start > TimeUnit.SECONDS.toNanos(10)) {
                    throw new IllegalStateException("not closed 10 s after the cancel");
                }
                Thread.onSpinWait();
            }
            reader.join();
            return new long[] {closedAt.get() - start, bindingGone - start};
        }
    }

    private static Socket connect(InetSocketAddress addr) throws Exception {
        for (int i = 0; ; i++) {
            try {
                return new Socket(addr.getAddress(), addr.getPort());
            } catch (java.net.ConnectException e) {
                if (i > 5000) {
                    throw e;
                }
                Thread.sleep(1);
            }
        }
    }
}
