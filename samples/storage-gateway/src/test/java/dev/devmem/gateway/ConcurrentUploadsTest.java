package dev.devmem.gateway;

import dev.devmem.gateway.store.DirectIo;
import dev.devmem.gateway.store.FileObjectStore;
import dev.devmem.gateway.store.Manifest;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Many flows at once through the emulated devmem NIC (5% header-split failures, so LINEAR frags in
 * host memory come between the DMABUF ones) into the file store, each with its own pattern period: every stored object must have exactly the sender's bytes (read back over HTTP, whole and
 * in ranges), the manifest's CRC32C, size and frag counts must agree, and no flow may ever hold
 * more frags than its token budget.
 */
class ConcurrentUploadsTest {
    private static final int FLOWS = 12;

    @TempDir
    Path dir;

    @ParameterizedTest(name = "direct-io {0}, fsync {1}")
    @CsvSource({"ON, GROUP", "OFF, GROUP", "ON, OBJECT", "OFF, OBJECT"})
    void everyByteOfEveryFlowIsStoredAndServed(DirectIo.Mode direct, SyncPolicy.Mode fsync) throws Exception {
        FileObjectStore store = FileObjectStore.open(dir, direct);
        assertThat(store.directIo()).as(store.describe()).isEqualTo(direct == DirectIo.Mode.ON);
        Random random = new Random(42);
        long[] sizes = new long[FLOWS];
        for (int i = 0; i < FLOWS; i++) {
            sizes[i] = i == 0 ? 1 : i == 1 ? 4096 * 3 : 1 + random.nextInt(12 << 20);
        }
        int budget = 512;
        GatewayConfig config = GatewayConfig.defaults().withDmabuf(32L << 20, 4096).withTokenBudget(budget)
                .withHeaderSplitFailures(0.05) // LINEAR frags in host memory between the dmabuf ones
                .withSync(fsync == SyncPolicy.Mode.GROUP ? SyncPolicy.group() : SyncPolicy.object());
        try (StorageGateway g = StorageGateway.start(config, store, System.out::println);
             ExecutorService senders = Executors.newFixedThreadPool(FLOWS)) {
            List<Future<?>> sent = new ArrayList<>();
            for (int i = 0; i < FLOWS; i++) {
                int period = 7 + i;
                long size = sizes[i];
                sent.add(senders.submit(() -> {
                    new PatternSender(period).send(g.flowAddress(), size);
                    return null;
                }));
            }
            for (Future<?> f : sent) {
                f.get();
            }
            List<FlowResult> results = g.results().take(FLOWS).collectList().block(Duration.ofSeconds(120));
            assertThat(results).hasSize(FLOWS).allSatisfy(r -> {
                assertThat(r.error()).isNull();
                assertThat(r.maxOutstanding()).isBetween(1L, (long) budget);
            });
            assertThat(g.stats().outstandingFrags()).isZero();

            HttpReader http = new HttpReader(g.httpAddress());
            List<Manifest> listed = store.list();
            assertThat(listed).hasSize(FLOWS);
            assertThat(http.getString("/objects")).contains(listed.get(0).key());
            Map<Long, Integer> periodBySize = new HashMap<>();
            for (int i = 0; i < FLOWS; i++) {
                periodBySize.put(sizes[i], 7 + i);
            }
            for (Manifest m : listed) {
                Integer period = periodBySize.get(m.size());
                assertThat(period).as("an object of %d bytes was sent", m.size()).isNotNull();
                assertThat(m.crc32c()).isEqualTo(Manifest.hex(PatternSender.crc32c(period, m.size())));
                assertThat(m.dmabufFrags() + m.linearFrags() + m.hostFrags()).isPositive();
                HttpResponse<byte[]> whole = http.get("/objects/" + m.key(), null);
                assertThat(whole.statusCode()).isEqualTo(200);
                assertThat(whole.body()).hasSize((int) m.size());
                assertThat(PatternSender.mismatch(whole.body(), 0, period)).isEqualTo(-1);
                assertThat(whole.headers().firstValue("x-checksum-crc32c")).hasValue(HttpReader.crc32c(whole.body()));
                long first = m.size() / 3;
                long last = Math.min(m.size() - 1, first + 100_000);
                HttpResponse<byte[]> part = http.get("/objects/" + m.key(), "bytes=" + first + "-" + last);
                assertThat(part.statusCode()).isEqualTo(206);
                assertThat(part.headers().firstValue("content-range"))
                        .hasValue("bytes " + first + "-" + last + "/" + m.size());
                assertThat(part.body()).hasSize((int) (last - first + 1));
                assertThat(PatternSender.mismatch(part.body(), first, period)).isEqualTo(-1);
                try (Stream<Path> files = Files.list(dir)) {
                    assertThat(files.filter(p -> p.getFileName().toString().startsWith(m.key())).count()).isEqualTo(2);
                }
            }
            assertThat(listed.stream().mapToLong(Manifest::dmabufFrags).sum()).isPositive();
            assertThat(listed.stream().mapToLong(Manifest::linearFrags).sum()).isPositive();
            HttpResponse<byte[]> past = http.get("/objects/" + listed.get(0).key(), "bytes=" + (listed.get(0).size() + 5) + "-");
            assertThat(past.statusCode()).isEqualTo(416);
            assertThat(http.get("/objects/flow-none", null).statusCode()).isEqualTo(404);
        }
    }
}
