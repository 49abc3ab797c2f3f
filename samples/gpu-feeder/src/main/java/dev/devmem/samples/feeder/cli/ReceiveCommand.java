package dev.devmem.samples.feeder.cli;

import dev.devmem.api.DevmemException;
import dev.devmem.api.DmabufSource;
import dev.devmem.api.spi.DevmemBackend;
import dev.devmem.ffm.DevmemBackends;
import dev.devmem.ffm.emulated.EmulatedNicConfig;
import dev.devmem.reactor.DevmemReceiver;
import dev.devmem.samples.feeder.BatchConsumer;
import dev.devmem.samples.feeder.DeviceChoice;
import dev.devmem.samples.feeder.FeedReport;
import dev.devmem.samples.feeder.Feeder;
import dev.devmem.samples.feeder.FeederConfig;
import dev.devmem.samples.feeder.GatherDevice;
import dev.devmem.samples.feeder.HostGatherDevice;
import dev.devmem.samples.feeder.RecordFormat;
import dev.devmem.samples.feeder.RecordVerifier;
import dev.devmem.samples.feeder.cuda.CudaDmabuf;
import dev.devmem.samples.feeder.cuda.CudaGatherDevice;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * Listens for record streams and feeds each connection, one after the other, to the gather device:
 * the emulated devmem NIC by default (no hardware, no privileges), a real one with
 * {@code --backend linux}. Prints one line per connection.
 */
@Command(name = "receive", mixinStandardHelpOptions = true,
        description = "Receive record streams over devmem TCP and gather them into device batches.")
final class ReceiveCommand implements Callable<Integer> {
    @Option(names = "--listen", defaultValue = "127.0.0.1:5301", description = "Address to listen on (default ${DEFAULT-VALUE}).")
    String listen;

    @Option(names = "--record-size", defaultValue = "65560",
            description = "Bytes per record, 24-byte header included (default ${DEFAULT-VALUE}: 64 KiB payloads).")
    String recordSize;

    @Option(names = "--batch", defaultValue = "32", description = "Records per device batch (default ${DEFAULT-VALUE}).")
    int recordsPerBatch;

    @Option(names = "--device", defaultValue = "auto",
            description = "auto (CUDA when a GPU is there, else host), cuda or host (default ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--cuda-device", defaultValue = "0", description = "CUDA device ordinal (default ${DEFAULT-VALUE}).")
    int cudaDevice;

    @Option(names = "--buffers", defaultValue = "4", description = "Device batch buffers (default ${DEFAULT-VALUE}).")
    int buffers;

    @Option(names = "--backend", defaultValue = "emulated",
            description = "emulated (the emulated devmem NIC) or linux (a real devmem NIC; needs --interface, --queue) (default ${DEFAULT-VALUE}).")
    String backend;

    @Option(names = "--interface", description = "Linux backend: the netdev whose rx queue to bind.")
    String interfaceName;

    @Option(names = "--queue", defaultValue = "0", description = "The rx queue the flows are steered to (default ${DEFAULT-VALUE}).")
    int queue;

    @Option(names = "--dmabuf-size", defaultValue = "64m", description = "Device memory to receive into (default ${DEFAULT-VALUE}).")
    String dmabufSize;

    @Option(names = "--frag-size", defaultValue = "4096", description = "Emulated NIC: rx buffer (frag) size (default ${DEFAULT-VALUE}).")
    int fragSize;

    @Option(names = "--header-split-failures", defaultValue = "0",
            description = "Emulated NIC: fraction of packets whose first bytes arrive as LINEAR frags (default ${DEFAULT-VALUE}).")
    double headerSplitFailures;

    @Option(names = "--token-budget", defaultValue = "0",
            description = "Most frags held at once (default: three quarters of the dmabuf's frags).")
    int tokenBudget;

    @Option(names = "--connections", defaultValue = "0", description = "Stop after this many connections (0: run until killed).")
    int connections;

    @Option(names = "--no-verify", description = "Do not check the records' CRC32C (measure the gather alone).")
    boolean noVerify;

    @Option(names = "--discard",
            description = "Release every frag at once, no records, no gather: the receive path's own ceiling, for comparison.")
    boolean discard;

    @Option(names = "--json", description = "Also print each connection's numbers as one JSON line.")
    boolean json;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        RecordFormat format = RecordFormat.ofRecordSize(Math.toIntExact(Sizes.parse(recordSize)));
        long dmabufBytes = Sizes.parse(dmabufSize);
        int budget = tokenBudget > 0 ? tokenBudget : (int) Math.max(4, dmabufBytes / fragSize * 3 / 4);
        FeederConfig config = new FeederConfig(format, recordsPerBatch, budget);
        InetSocketAddress local = HostPort.parse(listen);
        boolean emulated = switch (backend) {
            case "emulated" -> true;
            case "linux" -> false;
            default -> throw new CommandLine.ParameterException(spec.commandLine(),
                    "--backend must be emulated or linux, was " + backend);
        };
        if (!emulated && interfaceName == null) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--backend linux needs --interface");
        }
        DeviceChoice choice = DeviceChoice.select(DeviceChoice.Kind.parse(device), cudaDevice);
        out.println(choice.describe());
        List<AutoCloseable> owned = new ArrayList<>();
        try {
            if (choice.gpu() != null) {
                owned.add(choice.gpu());
            }
            DevmemBackend devmem;
            DmabufSource dmabuf;
            CudaDmabuf gpuDmabuf = null;
            if (emulated) {
                var b = DevmemBackends.emulated(EmulatedNicConfig.defaults().withRxQueues(Math.max(1, queue + 1))
                        .withFragSize(fragSize).withHeaderSplitFailures(headerSplitFailures, 1)
                        .withFlowSteering(dev.devmem.ffm.emulated.FlowSteering.toQueue(queue)));
                owned.add(b);
                devmem = b;
                interfaceName = b.nic().config().interfaceName();
                dmabuf = DmabufSource.emulated(dmabufBytes);
            } else {
                devmem = DevmemBackends.linux();
                if (choice.gpu() != null && choice.gpu().dmabufSupported()) {
                    gpuDmabuf = CudaDmabuf.allocate(choice.gpu(), dmabufBytes);
                    dmabuf = gpuDmabuf.source();
                } else {
                    dmabuf = DmabufSource.udmabuf(dmabufBytes);
                }
            }
            GatherDevice gather = choice.gpu() != null
                    ? new CudaGatherDevice(choice.gpu(), gpuDmabuf, buffers, config.maxBatchBytes())
                    : new HostGatherDevice(buffers, config.maxBatchBytes());
            owned.add(gather);
            if (gpuDmabuf != null) {
                owned.add(gpuDmabuf); // closed after the device, and after the binding is gone
            }
            DevmemReceiver receiver = DevmemReceiver.create(devmem).interfaceName(interfaceName).rxQueues(queue)
                    .dmabuf(dmabuf).fragSize(fragSize).tokenBudget(budget);
            out.printf("gpu-feeder: receiving on %s (%s backend, %s), records of %d bytes, %d per batch, "
                            + "token budget %d%n", local, backend, dmabuf, format.recordBytes(), recordsPerBatch, budget);
            out.flush();
            int bad = 0;
            long n = connections > 0 ? connections : Long.MAX_VALUE;
            var results = receiver.listen(local).take(n).concatMap(c -> {
                if (discard) {
                    return discard(c, format);
                }
                RecordVerifier verifier = new RecordVerifier(format);
                BatchConsumer consumer = noVerify ? b -> b.buffer().recycle() : verifier;
                long cpu0 = ProcessCpu.nanos();
                return new Feeder(config, gather, consumer).feed(c).map(r -> new Fed(r, verifier,
                        cpu0 < 0 ? -1 : ProcessCpu.nanos() - cpu0, c.remoteAddress()));
            }, 1).toIterable(1);
            for (Fed fed : results) {
                FeedReport r = fed.report();
                RecordVerifier v = fed.verifier();
                RunResult result = new RunResult(discard ? "devmem-discard" : "devmem", discard ? "none" : gather.name(), r.records(), r.batches(), r.bytes(),
                        r.elapsedNanos(), fed.cpuNanos(), r.fragsPerRecord(), r.frags(), v.verified(), v.bad());
                out.println("connection from " + fed.remote() + ": " + result.line());
                out.printf("  frags: %d dmabuf, %d linear, %d host; %d receives; records across frags %d, across "
                                + "receives %d, with linear frags %d; most frags held %d of %d%n",
                        r.dmabufFrags(), r.linearFrags(), r.hostFrags(), r.receives(), r.recordsSpanningFrags(),
                        r.recordsSpanningReceives(), r.recordsWithLinear(), r.maxFragsHeld(), budget);
                if (json) {
                    out.println(result.json());
                }
                for (String p : v.problems()) {
                    out.println("  WRONG: " + p);
                }
                out.flush();
                if (v.bad() > 0) {
                    bad++;
                }
            }
            if (bad > 0) {
                throw new RecordsWrongException(bad + " connection(s) had wrong records");
            }
            return 0;
        } finally {
            for (int i = owned.size() - 1; i >= 0; i--) {
                try {
                    owned.get(i).close();
                } catch (Exception e) {
                    spec.commandLine().getErr().println("gpu-feeder: closing " + owned.get(i) + ": " + e.getMessage());
                }
            }
        }
    }

    /** Receives {@code c} as batches and releases each at once: what the library and NIC cost alone. */
    private static reactor.core.publisher.Mono<Fed> discard(dev.devmem.reactor.DevmemConnection c, RecordFormat format) {
        long cpu0 = ProcessCpu.nanos();
        long[] t = new long[4]; // first receive, bytes, frags, receives
        return c.receiveBatches().doOnNext(b -> {
            if (t[0] == 0) {
                t[0] = System.nanoTime();
            }
            t[1] += b.bytes();
            t[2] += b.size();
            t[3]++;
            b.releaseAll();
        }).then(reactor.core.publisher.Mono.fromSupplier(() -> {
            long records = t[1] / format.recordBytes();
            FeedReport r = new FeedReport(records, 0, t[1], t[3], t[2], 0, 0, 0, t[2], 0, 0, 0, 0, t[2], t[2], 0, 0,
                    System.nanoTime() - t[0]);
            return new Fed(r, new RecordVerifier(format), cpu0 < 0 ? -1 : ProcessCpu.nanos() - cpu0, c.remoteAddress());
        }));
    }

    /** One fed connection: the feeder's report, the verifier's counts, the process CPU it took. */
    private record Fed(FeedReport report, RecordVerifier verifier, long cpuNanos, InetSocketAddress remote) {
    }

    /** host:port. */
    static final class HostPort {
        static InetSocketAddress parse(String s) throws java.net.UnknownHostException {
            int colon = s.lastIndexOf(':');
            if (colon < 0) {
                throw new IllegalArgumentException("not host:port: " + s);
            }
            return new InetSocketAddress(InetAddress.getByName(s.substring(0, colon)),
                    Integer.parseInt(s.substring(colon + 1)));
        }
    }
}
