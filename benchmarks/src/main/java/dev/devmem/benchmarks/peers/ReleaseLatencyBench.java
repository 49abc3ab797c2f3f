package dev.devmem.benchmarks.peers;

import dev.devmem.api.DmabufSource;
import dev.devmem.api.RxBindingSpec;
import dev.devmem.ffm.DevmemBackends;
import dev.devmem.ffm.emulated.EmulatedBackend;
import dev.devmem.ffm.emulated.EmulatedNicConfig;
import dev.devmem.reactor.DevmemReceiver;
import org.HdrHistogram.Histogram;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.List;
import java.util.Locale;

/**
 * Release → DONTNEED latency on the emulated NIC (real tokens; loopback TCP gives the kernel no
 * devmem frags): a consumer on its own thread releases each frag, and {@link TimedBackend} times it
 * to the {@code SO_DEVMEM_DONTNEED} that returned the token. Two loads: a slow trickle (4 KiB every
 * 10 ms: the flush timer, default 5 ms, has to send each token alone) and a full-speed stream
 * (batches of up to 1024 tokens). Prints a markdown table.
 * Usage: {@code ReleaseLatencyBench TRICKLE_FRAGS LOAD_BYTES}.
 */
public final class ReleaseLatencyBench {
    private ReleaseLatencyBench() {
    }

    public static void main(String[] args) throws Exception {
        int trickle = args.length > 0 ? Integer.parseInt(args[0]) : 500;
        long load = args.length > 1 ? Long.parseLong(args[1]) : 1L << 30;
        System.out.println("| load | frags timed | p50 µs | p99 µs | max µs |");
        System.out.println("|---|---|---|---|---|");
        row("slow trickle: 4 KiB every 10 ms", run(trickle * 4096L, 4096, 10));
        row("full speed: " + (load >> 20) + " MiB as fast as loopback goes", run(load, 1 << 20, 0));
    }

    private static void row(String what, Histogram h) {
        System.out.printf(Locale.ROOT, "| %s | %d | %.1f | **%.1f** | %.1f |%n", what, h.getTotalCount(),
                h.getValueAtPercentile(50) / 1e3, h.getValueAtPercentile(99) / 1e3, h.getMaxValue() / 1e3);
    }

    static Histogram run(long bytes, int writeSize, long pauseMillis) throws Exception {
        EmulatedNicConfig config = EmulatedNicConfig.defaults().withFlowSteering((l, r, n) -> 0);
        Scheduler consumer = Schedulers.newSingle("consumer");
        try (EmulatedBackend emulated = DevmemBackends.emulated(config)) {
            TimedBackend backend = new TimedBackend(emulated);
            int port = ProcessRun.freePort();
            InetSocketAddress addr = new InetSocketAddress("127.0.0.1", port);
            Thread sender = Thread.ofPlatform().start(() -> send(addr, bytes, writeSize, pauseMillis));
            DevmemReceiver.create(backend)
                    .binding(new RxBindingSpec(config.interfaceName(), List.of(0), DmabufSource.emulated(64L << 20)))
                    .receiveOne(addr)
                    .publishOn(consumer)
                    .doOnNext(f -> {
                        backend.releasedAt.put(f.streamPosition(), System.nanoTime());
                        f.release();
                    })
                    .blockLast();
            sender.join();
            return backend.latency;
        } finally {
            consumer.dispose();
        }
    }

    private static void send(InetSocketAddress addr, long bytes, int writeSize, long pauseMillis) {
        byte[] buf = new byte[writeSize];
        for (int i = 0; i < buf.length; i++) {
            buf[i] = (byte) (i % 7 == 6 ? 0 : i % 7 + 1);
        }
        for (int attempt = 0; ; attempt++) {
            try (Socket s = new Socket(addr.getAddress(), addr.getPort())) {
                OutputStream out = s.getOutputStream();
                for (long sent = 0; sent < bytes; sent += writeSize) {
                    out.write(buf, 0, (int) Math.min(writeSize, bytes - sent));
                    if (pauseMillis > 0) {
                        out.flush();
                        Thread.sleep(pauseMillis);
                    }
                }
                s.shutdownOutput();
                s.getInputStream().read();
                return;
            } catch (java.net.ConnectException e) {
                if (attempt > 5000) {
                    throw new IllegalStateException(e);
                }
                try {
                    Thread.sleep(1);
                } catch (InterruptedException ie) {
                    return;
                }
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
    }
}
