package dev.devmem.cli;

import dev.devmem.api.DmabufSource;
import dev.devmem.api.RxBindingSpec;
import dev.devmem.api.spi.RxBinding;
import dev.devmem.ffm.DevmemBackends;
import dev.devmem.ffm.bindd.BinderBackend;
import dev.devmem.ffm.emulated.EmulatedNicConfig;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code bin/devmem bindd} as an operator runs it: a separate process, stopped with SIGTERM. Its
 * client's binding ends with it (the client's lease watcher sees the daemon go, as the kernel
 * unbinds when the daemon's netlink sockets close), and it removes its socket.
 */
class BinddIT {
    private static final Path DEVMEM = Path.of(System.getProperty("user.dir")).resolve("../../bin/devmem").normalize();

    @Test
    void sigtermUnbindsEveryClientAndRemovesTheSocket() throws Exception {
        Path dir = Files.createTempDirectory("bindd-it-");
        Path socket = dir.resolve("bindd.sock");
        Process p = new ProcessBuilder(DEVMEM.toString(), "bindd", "--socket", socket.toString(), "--emulated")
                .redirectErrorStream(true).start();
        java.util.concurrent.CompletableFuture<String> output = new java.util.concurrent.CompletableFuture<>();
        Thread.ofPlatform().daemon().start(() -> output.complete(CliSubprocessIT.readAll(p.getInputStream())));
        try {
            long deadline = System.nanoTime() + Cli.TIMEOUT.toNanos();
            while (!Files.exists(socket)) {
                assertThat(p.isAlive()).as("bindd is running").isTrue();
                assertThat(System.nanoTime()).as("bindd listens").isLessThan(deadline);
                Thread.sleep(10);
            }
            try (BinderBackend backend = DevmemBackends.emulatedViaBinder(socket, EmulatedNicConfig.defaults())) {
                RxBinding b = backend.bindRx(new RxBindingSpec("emu0", List.of(0), DmabufSource.emulated(8 * 4096)));
                assertThat(b.isOpen()).isTrue();
                // SIGTERM with kill(1): Process.destroy would also close our end of its output
                assertThat(new ProcessBuilder("kill", "-TERM", Long.toString(p.pid())).start().waitFor()).isZero();
                assertThat(p.waitFor(Cli.TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)).isTrue();
                while (b.isOpen() && System.nanoTime() < deadline) {
                    Thread.sleep(5);
                }
                assertThat(b.isOpen()).as("the daemon's end unbound the client's binding").isFalse();
                b.close();
            }
            String out = output.get(1, TimeUnit.MINUTES);
            assertThat(out).contains("listening on " + socket).contains("released: its connection ended")
                    .contains("devmem bindd: stopped");
            assertThat(p.exitValue()).as(out).isIn(0, 143); // 143: the JVM's exit status for SIGTERM
            assertThat(socket).doesNotExist();
        } finally {
            p.destroyForcibly();
            Files.deleteIfExists(socket);
            Files.deleteIfExists(dir);
        }
    }
}
