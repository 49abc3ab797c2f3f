package dev.devmem.samples.feeder;

import dev.devmem.ffm.emulated.EmulatedNicConfig;
import dev.devmem.samples.feeder.cuda.CudaDriver;
import dev.devmem.samples.feeder.cuda.CudaGatherDevice;
import dev.devmem.samples.feeder.cuda.CudaGpu;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.function.LongSupplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The CUDA gather device's code (FFM binding, copy issue with coalescing, in-order event polling,
 * buffer recycling, device-memory cleanup) run against a stand-in libcuda built from
 * {@code src/test/c/fake_libcuda.c}: cuda.h's signatures over host memory, copies done at once,
 * events ready after two queries. It is not a GPU: it shows the calls are made with the right
 * arguments and the completions are honoured, not that a GPU's copy engine does the work. The feed is
 * real: the emulated NIC over loopback TCP, every record's CRC32C checked after the gather (read
 * back with cuMemcpyDtoH).
 */
class FakeCudaTest {
    private static Path library;

    @BeforeAll
    static void buildFakeDriver() throws Exception {
        Path src = Path.of("src/test/c/fake_libcuda.c").toAbsolutePath();
        Path out = Path.of("target/fake-cuda/libcuda.so.1").toAbsolutePath();
        Files.createDirectories(out.getParent());
        Process cc;
        try {
            cc = new ProcessBuilder("cc", "-shared", "-fPIC", "-O2", "-o", out.toString(), src.toString())
                    .redirectErrorStream(true).start();
        } catch (java.io.IOException e) {
            assumeTrue(false, "SKIPPED (no C compiler 'cc' to build the stand-in libcuda: " + e.getMessage() + ")");
            return;
        }
        String log = new String(cc.getInputStream().readAllBytes());
        assertThat(cc.waitFor()).as(log).isZero();
        library = out;
    }

    @Test
    void dmabufPiecesCopiedDeviceToDeviceLinearPiecesHostToDevice() throws Exception {
        Run run = feed(true);
        assertThat(run.counter("fake_dtod_calls")).as("DMABUF pieces copied on the device").isPositive();
        assertThat(run.counter("fake_htod_calls")).as("LINEAR pieces uploaded from host bytes").isPositive();
        assertThat(run.counter("fake_dtod_bytes") + run.counter("fake_htod_bytes")).isEqualTo(run.report.bytes());
        assertThat(run.counter("fake_dtod_calls")).as("contiguous pieces coalesced into fewer copies")
                .isLessThanOrEqualTo(run.report.pieces());
    }

    @Test
    void hostDmabufIsUploadedPieceByPiece() throws Exception {
        Run run = feed(false);
        assertThat(run.counter("fake_dtod_calls")).isZero();
        assertThat(run.counter("fake_htod_calls")).isEqualTo(run.report.pieces());
        assertThat(run.counter("fake_htod_bytes")).isEqualTo(run.report.bytes());
    }

    private record Run(FeedReport report, SymbolLookup lib, long[] before) {
        long counter(String name) {
            return lib.find(name).orElseThrow().reinterpret(8).get(ValueLayout.JAVA_LONG, 0) - before[index(name)];
        }

        static int index(String name) {
            return java.util.List.of(COUNTERS).indexOf(name);
        }
    }

    private static final String[] COUNTERS = {"fake_dtod_calls", "fake_htod_calls", "fake_dtod_bytes",
            "fake_htod_bytes", "fake_event_not_ready", "fake_allocs", "fake_frees"};

    private Run feed(boolean dmabufOnDevice) throws Exception {
        SymbolLookup lib = SymbolLookup.libraryLookup(library, Arena.global());
        long[] before = new long[COUNTERS.length];
        for (int i = 0; i < COUNTERS.length; i++) {
            before[i] = lib.find(COUNTERS[i]).orElseThrow().reinterpret(8).get(ValueLayout.JAVA_LONG, 0);
        }
        CudaDriver driver = CudaDriver.load(library, Arena.global());
        RecordFormat format = RecordFormat.ofRecordSize(20_024);
        long records = 1500;
        EmulatedNicConfig nic = EmulatedNicConfig.defaults().withFragSize(4096).withHeaderSplitFailures(0.1, 3);
        FeedReport report;
        try (CudaGpu gpu = CudaGpu.open(driver, 0);
             EmulatedFeed feed = new EmulatedFeed(nic, 8L << 20, 1536, 64)) {
            assertThat(gpu.name()).isEqualTo("fake CUDA device (host memory)");
            // With this stand-in a device address is a host address, so the emulated dmabuf's mapping
            // can play the GPU dmabuf the NIC wrote into.
            LongSupplier dmabuf = dmabufOnDevice
                    ? () -> feed.backend.nic().liveBindings().getFirst().hostView().orElseThrow().address()
                    : null;
            RecordVerifier verifier = new RecordVerifier(format);
            try (CudaGatherDevice device = new CudaGatherDevice(gpu, dmabuf, 3, 8L * format.recordBytes())) {
                assertThat(device.readsDmabufOnDevice()).isEqualTo(dmabufOnDevice);
                CompletableFuture<FeedReport> f = feed.start(new Feeder(new FeederConfig(format, 8, 1536), device,
                        verifier));
                EmulatedFeed.await(feed.send(new RecordSender(format), records));
                report = EmulatedFeed.await(f);
            }
            System.out.println("fake CUDA (dmabuf on device " + dmabufOnDevice + "): " + report);
            assertThat(verifier.problems()).isEmpty();
            assertThat(verifier.verified()).isEqualTo(records);
            assertThat(report.linearFrags()).isPositive();
            FeederEmulatedTest.assertLedgersBalance(feed, report);
        }
        Run run = new Run(report, lib, before);
        assertThat(run.counter("fake_event_not_ready")).as("completion waited for the events").isPositive();
        assertThat(run.counter("fake_frees")).as("device memory freed").isEqualTo(run.counter("fake_allocs"));
        return run;
    }
}
