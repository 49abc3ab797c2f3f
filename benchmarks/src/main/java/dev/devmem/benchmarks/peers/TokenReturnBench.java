package dev.devmem.benchmarks.peers;

import dev.devmem.api.DmabufSource;
import dev.devmem.api.FragKind;
import dev.devmem.api.RxBindingSpec;
import dev.devmem.api.spi.DevmemSocket;
import dev.devmem.api.spi.ReceiveBatch;
import dev.devmem.api.spi.RxBinding;
import dev.devmem.ffm.emulated.EmulatedBackend;
import dev.devmem.ffm.emulated.EmulatedNicConfig;
import dev.devmem.ffm.emulated.SyntheticStream;
import dev.devmem.ffm.RxSocketOptions;
import dev.devmem.ffm.sys.LinuxConstants;
import dev.devmem.ffm.sys.Syscalls;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

/**
 * What returning a token costs, in ns per frag: the reference client's way (ncdevmem: one
 * {@code SO_DEVMEM_DONTNEED} of {@code {token, 1}} per frag) against the library's (ranges of
 * contiguous tokens, up to 1024 frags per call).
 *
 * <ul>
 *   <li>Real kernel: a loopback TCP socket holds no devmem frags (this host has no devmem NIC), so the
 *       kernel skips every token (the call returns 0, ABI sheet 2.5). What is measured is the system
 *       call and the kernel's per-token lookup, not the page-pool put of a real frag.</li>
 *   <li>Emulated NIC: real tokens from its synthetic socket (the kernel's token rules, byte-exact),
 *       1024 frags per receive, returned one call per frag or batched by the engine.</li>
 * </ul>
 * Prints a markdown table. Usage: {@code TokenReturnBench FRAGS}.
 */
public final class TokenReturnBench {
    private TokenReturnBench() {
    }

    public static void main(String[] args) throws Exception {
        long frags = args.length > 0 ? Long.parseLong(args[0]) : 4_000_000;
        System.out.println("| where | way | ns per frag (median of 5) | DONTNEED calls per 1024 frags |");
        System.out.println("|---|---|---|---|");
        double[] kernelOne = new double[5];
        double[] kernelBatch = new double[5];
        double[] emuOne = new double[5];
        double[] emuBatch = new double[5];
        for (int round = 0; round < 6; round++) { // round 0 warms up
            double a = kernel(frags, 1);
            double b = kernel(frags, 1024);
            double c = emulated(frags / 4, true);
            double d = emulated(frags, false);
            if (round > 0) {
                kernelOne[round - 1] = a;
                kernelBatch[round - 1] = b;
                emuOne[round - 1] = c;
                emuBatch[round - 1] = d;
            }
        }
        row("real kernel (loopback TCP, tokens skipped)", "one call per frag, {token, 1}", kernelOne, "1024");
        row("real kernel (loopback TCP, tokens skipped)", "library: 128 ranges of 8, 1024 frags per call", kernelBatch, "1");
        row("emulated NIC (synthetic socket, real tokens)", "one call per frag (release + flush)", emuOne, "1024");
        row("emulated NIC (synthetic socket, real tokens)", "library: DontneedBatcher, flushed at 1024", emuBatch, "1");
    }

    private static void row(String where, String way, double[] ns, String calls) {
        double[] s = ns.clone();
        java.util.Arrays.sort(s);
        System.out.printf(java.util.Locale.ROOT, "| %s | %s | **%.1f** (min %.1f, max %.1f) | %s |%n",
                where, way, s[2], s[0], s[4], calls);
    }

    /** setsockopt(SO_DEVMEM_DONTNEED) on a TCP socket, {@code perCall} frags per call as 8-token ranges. */
    static double kernel(long frags, int perCall) {
        int fd = Syscalls.socket(LinuxConstants.AF_INET, LinuxConstants.SOCK_STREAM, 0);
        if (fd < 0) {
            throw new IllegalStateException("socket: " + fd);
        }
        try (Arena arena = Arena.ofConfined()) {
            int ranges = perCall == 1 ? 1 : perCall / 8;
            int perRange = perCall == 1 ? 1 : 8;
            MemorySegment buf = arena.allocate(8L * ranges, 8);
            for (int i = 0; i < ranges; i++) {
                buf.set(ValueLayout.JAVA_INT, 8L * i, 1 + i * perRange);
                buf.set(ValueLayout.JAVA_INT, 8L * i + 4, perRange);
            }
            long calls = frags / perCall;
            long start = System.nanoTime();
            for (long c = 0; c < calls; c++) {
                int r = Syscalls.setsockopt(fd, LinuxConstants.SOL_SOCKET, LinuxConstants.SO_DEVMEM_DONTNEED, buf,
                        8 * ranges);
                if (r < 0) {
                    throw new IllegalStateException("SO_DEVMEM_DONTNEED: " + r);
                }
            }
            return (System.nanoTime() - start) / (double) (calls * perCall);
        } finally {
            Syscalls.close(fd);
        }
    }

    /** Receives 1024-frag batches from the emulated NIC's synthetic socket and returns every token. */
    static double emulated(long frags, boolean onePerFrag) throws Exception {
        EmulatedNicConfig config = EmulatedNicConfig.defaults().withRxQueues(1);
        RxSocketOptions options = RxSocketOptions.defaults().withHostSlabs(2, 4 << 20).withMaxBatch(1024);
        try (EmulatedBackend backend = EmulatedBackend.create(config, options)) {
            RxBinding binding = backend.bindRx(new RxBindingSpec(config.interfaceName(), List.of(0),
                    DmabufSource.emulated(64L << 20)));
            try (DevmemSocket socket = backend.synthetic(0, SyntheticStream.endless())) {
                ReceiveBatch batch = new ReceiveBatch(1024);
                long released = 0;
                long releaseNanos = 0;
                while (released < frags) {
                    int n = socket.receive(batch);
                    long t0 = System.nanoTime();
                    for (int i = 0; i < n; i++) {
                        socket.release(FragKind.DMABUF, batch.releaseKey(i));
                        if (onePerFrag) {
                            socket.flushReleases();
                        }
                    }
                    socket.flushReleases();
                    releaseNanos += System.nanoTime() - t0;
                    released += n;
                }
                return releaseNanos / (double) released;
            } finally {
                binding.close();
            }
        }
    }
}
