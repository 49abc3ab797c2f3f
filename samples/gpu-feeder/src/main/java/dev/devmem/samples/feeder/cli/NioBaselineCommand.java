package dev.devmem.samples.feeder.cli;

import dev.devmem.samples.feeder.DeviceBuffer;
import dev.devmem.samples.feeder.GatheredBatch;
import dev.devmem.samples.feeder.RecordFormat;
import dev.devmem.samples.feeder.RecordVerifier;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.concurrent.Callable;

/**
 * The baseline: the same records received with plain JDK NIO (blocking {@code SocketChannel.read}
 * into a 1 MiB direct or heap buffer) and gathered into the same contiguous batch buffer, then
 * checked by the same verifier. What the devmem path replaces: the kernel copies every byte into
 * the receive buffer, the application copies it again into the batch.
 */
@Command(name = "nio", mixinStandardHelpOptions = true,
        description = "Baseline: receive the records with plain JDK NIO into a heap or direct buffer and gather them.")
final class NioBaselineCommand implements Callable<Integer> {
    @Option(names = "--listen", defaultValue = "127.0.0.1:5301", description = "Address to listen on (default ${DEFAULT-VALUE}).")
    String listen;

    @Option(names = "--record-size", defaultValue = "65560", description = "Bytes per record (default ${DEFAULT-VALUE}).")
    String recordSize;

    @Option(names = "--batch", defaultValue = "32", description = "Records per batch (default ${DEFAULT-VALUE}).")
    int recordsPerBatch;

    @Option(names = "--heap", description = "Read into a heap ByteBuffer instead of a direct one.")
    boolean heap;

    @Option(names = "--connections", defaultValue = "0", description = "Stop after this many connections (0: run until killed).")
    int connections;

    @Option(names = "--no-verify", description = "Do not check the records' CRC32C.")
    boolean noVerify;

    @Option(names = "--json", description = "Also print each connection's numbers as one JSON line.")
    boolean json;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        RecordFormat format = RecordFormat.ofRecordSize(Math.toIntExact(Sizes.parse(recordSize)));
        String mode = heap ? "nio-heap" : "nio-direct";
        int bad = 0;
        try (ServerSocketChannel server = ServerSocketChannel.open(); Arena arena = Arena.ofConfined()) {
            server.bind(ReceiveCommand.HostPort.parse(listen));
            out.printf("gpu-feeder nio: listening on %s (%s receive buffer)%n", server.getLocalAddress(), mode);
            out.flush();
            int recordBytes = format.recordBytes();
            long batchBytes = (long) recordsPerBatch * recordBytes;
            MemorySegment batch = arena.allocate(batchBytes, 4096);
            HostBatch buffer = new HostBatch(batch);
            ByteBuffer rx = heap ? ByteBuffer.allocate(1 << 20) : ByteBuffer.allocateDirect(1 << 20);
            for (int served = 0; connections == 0 || served < connections; served++) {
                try (SocketChannel ch = server.accept()) {
                    ch.setOption(StandardSocketOptions.SO_RCVBUF, 4 << 20);
                    RecordVerifier verifier = new RecordVerifier(format);
                    long cpu0 = ProcessCpu.nanos();
                    long t0 = 0;
                    long bytes = 0;
                    long reads = 0;
                    long batches = 0;
                    long inBatch = 0;
                    long firstRecord = 0;
                    while (true) {
                        rx.clear();
                        int n = ch.read(rx);
                        if (n < 0) {
                            break;
                        }
                        if (t0 == 0) {
                            t0 = System.nanoTime();
                        }
                        reads++;
                        bytes += n;
                        rx.flip();
                        while (rx.hasRemaining()) {
                            int take = (int) Math.min(rx.remaining(), batchBytes - inBatch);
                            MemorySegment.copy(MemorySegment.ofBuffer(rx.slice(rx.position(), take)), 0, batch, inBatch, take);
                            rx.position(rx.position() + take);
                            inBatch += take;
                            if (inBatch == batchBytes) {
                                deliver(verifier, buffer, batches++, firstRecord, recordsPerBatch, recordBytes);
                                firstRecord += recordsPerBatch;
                                inBatch = 0;
                            }
                        }
                    }
                    if (inBatch >= recordBytes) {
                        int records = (int) (inBatch / recordBytes);
                        deliver(verifier, buffer, batches++, firstRecord, records, recordBytes);
                        firstRecord += records;
                    }
                    long nanos = t0 == 0 ? 0 : System.nanoTime() - t0;
                    long records = firstRecord;
                    RunResult r = new RunResult(mode, "host", records, batches, bytes, nanos,
                            cpu0 < 0 ? -1 : ProcessCpu.nanos() - cpu0, records == 0 ? 0 : (double) reads / records,
                            reads, verifier.verified(), verifier.bad() + (bytes % recordBytes != 0 ? 1 : 0));
                    out.println("connection from " + ch.getRemoteAddress() + ": " + r.line());
                    if (json) {
                        out.println(r.json());
                    }
                    verifier.problems().forEach(p -> out.println("  WRONG: " + p));
                    out.flush();
                    if (r.bad() > 0) {
                        bad++;
                    }
                }
            }
        }
        if (bad > 0) {
            throw new RecordsWrongException(bad + " connection(s) had wrong records");
        }
        return 0;
    }

    private void deliver(RecordVerifier verifier, HostBatch buffer, long sequence, long firstRecord, int records,
                         int recordBytes) {
        buffer.bytes = (long) records * recordBytes;
        if (!noVerify) {
            verifier.verify(new GatheredBatch(sequence, firstRecord, records, recordBytes, buffer));
        }
    }

    /** The one batch buffer of the baseline, reused at once (the verifier runs inline). */
    private static final class HostBatch implements DeviceBuffer {
        private final MemorySegment segment;
        long bytes;

        HostBatch(MemorySegment segment) {
            this.segment = segment;
        }

        @Override
        public long bytes() {
            return bytes;
        }

        @Override
        public MemorySegment hostView() {
            return segment.asSlice(0, bytes);
        }

        @Override
        public void copyToHost(MemorySegment dst) {
            MemorySegment.copy(segment, 0, dst, 0, bytes);
        }

        @Override
        public void recycle() {
        }
    }
}
