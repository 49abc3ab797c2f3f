package dev.devmem.gateway;

import dev.devmem.gateway.store.DirectIo;
import dev.devmem.gateway.store.FileObjectStore;
import dev.devmem.gateway.store.Manifest;
import dev.devmem.gateway.store.StoreFullException;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A real ENOSPC: the store lives on a 4 MiB tmpfs mounted for this test (root only; skipped with the
 * reason otherwise). An 8 MiB flow must fail with {@link StoreFullException}, leave no file and no
 * visible object, and give every frag back; the next flow that fits is stored. Both write paths:
 * tmpfs takes O_DIRECT since Linux 6.6 (the FFM pwrite path reports the errno), and the page-cache
 * path (FileChannel reports only strerror's text). ramfs refuses O_DIRECT with EINVAL: the store
 * falls back and says why, or refuses to open when O_DIRECT was required.
 */
class DiskFullTest {
    @TempDir
    Path tmp;

    @ParameterizedTest(name = "direct-io {0}")
    @EnumSource(value = DirectIo.Mode.class, names = {"ON", "OFF"})
    void enospcFailsTheFlowTypedAndLeavesNothingVisible(DirectIo.Mode mode) throws Exception {
        Path mnt = tmp.resolve("small");
        Files.createDirectories(mnt);
        String mounted = run("mount", "-t", "tmpfs", "-o", "size=4m", "devmem-gateway-test", mnt.toString());
        Assumptions.assumeTrue(mounted == null, () -> {
            String why = "SKIPPED (mount tmpfs on " + mnt + " not permitted: " + mounted + ")";
            System.out.println(why);
            return why;
        });
        try {
            FileObjectStore store = FileObjectStore.open(mnt, mode);
            assertThat(store.directIo()).isEqualTo(mode == DirectIo.Mode.ON);
            try (StorageGateway g = StorageGateway.start(GatewayConfig.defaults().withTokenBudget(256), store,
                    System.out::println)) {
                try {
                    new PatternSender(7).send(g.flowAddress(), 8L << 20);
                } catch (IOException e) {
                    System.out.println("sender saw: " + e); // the gateway closed on it: expected
                }
                FlowResult failed = g.results().blockFirst(Duration.ofSeconds(60));
                assertThat(failed.stored()).isFalse();
                assertThat(failed.error()).isInstanceOf(StoreFullException.class)
                        .hasMessageContaining(failed.key()).hasMessageContaining("No space left on device");
                assertThat(store.list()).isEmpty();
                assertThat(store.manifest(failed.key())).isEmpty();
                assertThat(listing(mnt)).isEmpty();
                assertThat(new HttpReader(g.httpAddress()).getString("/objects")).isEqualTo("[ ]");
                assertThat(new HttpReader(g.httpAddress()).get("/objects/" + failed.key(), null).statusCode())
                        .isEqualTo(404);
                assertThat(g.stats().outstandingFrags()).isZero();

                long small = 1L << 20;
                new PatternSender(9).send(g.flowAddress(), small);
                FlowResult ok = g.results().skip(1).blockFirst(Duration.ofSeconds(60));
                assertThat(ok.error()).isNull();
                assertThat(ok.manifest().size()).isEqualTo(small);
                assertThat(ok.manifest().crc32c()).isEqualTo(Manifest.hex(PatternSender.crc32c(9, small)));
                assertThat(listing(mnt)).containsExactlyInAnyOrder(ok.key() + ".data", ok.key() + ".manifest.json");
            }
        } finally {
            String u = run("umount", mnt.toString());
            assertThat(u).as("umount").isNull();
        }
    }

    @Test
    void wereODirectIsRefusedTheStoreFallsBackAndSaysWhy() throws Exception {
        Path mnt = tmp.resolve("ramfs");
        Files.createDirectories(mnt);
        String mounted = run("mount", "-t", "ramfs", "devmem-gateway-test", mnt.toString());
        Assumptions.assumeTrue(mounted == null, () -> {
            String why = "SKIPPED (mount ramfs on " + mnt + " not permitted: " + mounted + ")";
            System.out.println(why);
            return why;
        });
        try {
            FileObjectStore store = FileObjectStore.open(mnt, DirectIo.Mode.AUTO);
            assertThat(store.directIo()).isFalse();
            assertThat(store.describe()).contains("O_DIRECT refused here").contains("EINVAL");
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> FileObjectStore.open(mnt, DirectIo.Mode.ON))
                    .isInstanceOf(dev.devmem.gateway.store.StoreException.class).hasMessageContaining("EINVAL");
            try (StorageGateway g = StorageGateway.start(GatewayConfig.defaults(), store, System.out::println)) {
                new PatternSender(11).send(g.flowAddress(), 3_000_001);
                FlowResult ok = g.results().blockFirst(Duration.ofSeconds(60));
                assertThat(ok.manifest().crc32c()).isEqualTo(Manifest.hex(PatternSender.crc32c(11, 3_000_001)));
            }
        } finally {
            assertThat(run("umount", mnt.toString())).as("umount").isNull();
        }
    }

    private static List<String> listing(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).toList();
        }
    }

    /** Runs a command; null when it succeeded, else what it said. */
    private static String run(String... cmd) throws Exception {
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        } catch (IOException e) {
            return e.getMessage();
        }
        String out = new String(p.getInputStream().readAllBytes()).trim();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return "timed out";
        }
        return p.exitValue() == 0 ? null : "exit " + p.exitValue() + ": " + out;
    }
}
