package dev.devmem.samples.feeder;

import dev.devmem.samples.feeder.cli.Main;
import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The command as a user runs it, in process: {@code receive} (emulated NIC, automatic device choice)
 * and {@code nio} each take one connection from {@code send}, verify every record and exit 0; asking
 * for CUDA where there is none exits 3 with the reason.
 */
class CliTest {

    @Test
    void receiveOneConnectionFromSendAndVerifyEveryRecord() throws Exception {
        String port = String.valueOf(EmulatedFeed.freeLoopbackAddress().getPort());
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CompletableFuture<Integer> receive = CompletableFuture.supplyAsync(() -> Main.run(new PrintWriter(out, true),
                new PrintWriter(err, true), "receive", "--listen", "127.0.0.1:" + port, "--connections", "1",
                "--record-size", "10024", "--batch", "8", "--dmabuf-size", "8m", "--header-split-failures", "0.05",
                "--json"));
        int sent = Main.run(new PrintWriter(new StringWriter()), new PrintWriter(err, true), "send", "--to",
                "127.0.0.1:" + port, "--records", "2000", "--record-size", "10024");
        assertThat(sent).as(err.toString()).isZero();
        assertThat(EmulatedFeed.await(receive)).as(out + "\n" + err).isZero();
        System.out.println(out);
        assertThat(out.toString())
                .contains("gather device: ")
                .contains("devmem [", "2000 records in 250 batches", "verified 2000, bad 0")
                .contains("\"mode\":\"devmem\"", "\"records\":2000", "\"bad\":0");
    }

    @Test
    void nioBaselineTakesTheSameRecords() throws Exception {
        String port = String.valueOf(EmulatedFeed.freeLoopbackAddress().getPort());
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CompletableFuture<Integer> receive = CompletableFuture.supplyAsync(() -> Main.run(new PrintWriter(out, true),
                new PrintWriter(err, true), "nio", "--listen", "127.0.0.1:" + port, "--connections", "1",
                "--record-size", "10024", "--batch", "8", "--heap"));
        int sent = Main.run(new PrintWriter(new StringWriter()), new PrintWriter(err, true), "send", "--to",
                "127.0.0.1:" + port, "--records", "1001", "--record-size", "10024");
        assertThat(sent).as(err.toString()).isZero();
        assertThat(EmulatedFeed.await(receive)).as(out + "\n" + err).isZero();
        assertThat(out.toString()).contains("nio-heap [host]: 1001 records in 126 batches", "verified 1001, bad 0");
    }

    /** The real kernel answers: on this host the linux backend's udmabuf (or, with one, the bind on lo) is refused. */
    @Test
    void theLinuxBackendOnLoopbackFailsWithTheKernelsReasonAndATypedExitCode() {
        StringWriter err = new StringWriter();
        int code = Main.run(new PrintWriter(new StringWriter()), new PrintWriter(err, true), "receive", "--backend",
                "linux", "--interface", "lo", "--device", "host", "--connections", "1", "--dmabuf-size", "4m",
                "--listen", "127.0.0.1:0");
        assertThat(err.toString()).startsWith("gpu-feeder receive: ").doesNotContain("Exception:");
        if (!java.nio.file.Files.exists(java.nio.file.Path.of("/dev/udmabuf"))) {
            assertThat(code).as(err.toString()).isEqualTo(3);
            assertThat(err.toString()).contains("/dev/udmabuf does not exist");
        } else {
            assertThat(code).as("lo has no devmem rx queue: the kernel refuses the bind").isIn(3, 4);
        }
    }

    @Test
    void askingForCudaWithoutItExitsThreeWithTheReason() {
        org.junit.jupiter.api.Assumptions.assumeTrue(
                dev.devmem.samples.feeder.cuda.CudaGpu.unavailableReason(0) != null, "SKIPPED (a CUDA device is present)");
        StringWriter err = new StringWriter();
        int code = Main.run(new PrintWriter(new StringWriter()), new PrintWriter(err, true), "receive", "--device", "cuda",
                "--connections", "1");
        assertThat(code).isEqualTo(3);
        assertThat(err.toString()).startsWith("gpu-feeder receive: ").contains("CUDA");
    }
}
