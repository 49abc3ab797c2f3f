package dev.devmem.samples.feeder;

import dev.devmem.api.DevmemUnsupportedException;
import dev.devmem.samples.feeder.cuda.CudaDriver;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Device selection on this host. Whether the CUDA driver is installed is asked of the dynamic loader's
 * cache ({@code ldconfig -p}), independently of the code under test: without it, automatic selection
 * falls back to the host and names the missing library; asking for CUDA explicitly fails with the same
 * reason. With a driver, automatic selection takes CUDA when a device opens, and otherwise says why not.
 */
class DeviceChoiceTest {

    @Test
    void automaticSelectionTakesCudaOnlyWhenItCanAndSaysWhyNot() throws Exception {
        boolean driverInstalled = loaderKnowsLibcuda();
        DeviceChoice choice = DeviceChoice.select(DeviceChoice.Kind.AUTO, 0);
        System.out.println(choice.describe());
        if (!driverInstalled) {
            assertThat(choice.kind()).isEqualTo(DeviceChoice.Kind.HOST);
            assertThat(choice.gpu()).isNull();
            assertThat(choice.cudaAbsence())
                    .startsWith("the CUDA driver library " + CudaDriver.LIBRARY + " cannot be loaded")
                    .contains("no NVIDIA driver installed");
            assertThat(choice.describe()).contains("host (CUDA not used: the CUDA driver library libcuda.so.1");
            assertThatThrownBy(() -> DeviceChoice.select(DeviceChoice.Kind.CUDA, 0))
                    .isInstanceOfSatisfying(DevmemUnsupportedException.class, e -> {
                        assertThat(e.feature()).isEqualTo("CUDA");
                        assertThat(e.getMessage()).isEqualTo(choice.cudaAbsence());
                    });
        } else if (choice.kind() == DeviceChoice.Kind.CUDA) {
            assertThat(choice.gpu().name()).isNotBlank();
            choice.gpu().close();
        } else {
            assertThat(choice.cudaAbsence()).as("a driver without a usable device says why")
                    .containsAnyOf("cuInit failed", "no CUDA device");
        }
    }

    @Test
    void askingForTheHostNeedsNoReason() throws Exception {
        DeviceChoice choice = DeviceChoice.select(DeviceChoice.Kind.HOST, 0);
        assertThat(choice.kind()).isEqualTo(DeviceChoice.Kind.HOST);
        assertThat(choice.cudaAbsence()).isNull();
        assertThat(choice.describe()).isEqualTo("gather device: host (asked for)");
    }

    private static boolean loaderKnowsLibcuda() throws IOException, InterruptedException {
        Process p = new ProcessBuilder("sh", "-c", "ldconfig -p 2>/dev/null || /sbin/ldconfig -p")
                .redirectErrorStream(true).start();
        String cache = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor();
        return cache.contains(CudaDriver.LIBRARY + " ");
    }
}
