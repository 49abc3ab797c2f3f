package dev.devmem.gateway;

import dev.devmem.gateway.s3.S3ObjectStore;
import dev.devmem.gateway.store.Manifest;
import org.gaul.s3proxy.AuthenticationType;
import org.gaul.s3proxy.S3Proxy;
import org.jclouds.ContextBuilder;
import org.jclouds.blobstore.BlobStoreContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The S3 target against a real S3 server in this JVM: s3proxy (Jetty, the S3 REST API) over jclouds'
 * transient blob store, on loopback, with AWS v4 signatures checked. Flows larger than their token
 * budget can only complete if tokens go back part by part, as S3 acknowledges each part.
 */
class S3TargetTest {
    private static final int BUDGET = 4096; // 16 MiB of 4 KiB frags
    private static final long PART = 5L << 20;

    private static BlobStoreContext blobs;
    private static S3Proxy proxy;
    private static URI endpoint;

    @BeforeAll
    static void startS3() throws Exception {
        blobs = ContextBuilder.newBuilder("transient").credentials("local", "local").build(BlobStoreContext.class);
        proxy = S3Proxy.builder().blobStore(blobs.getBlobStore()).endpoint(URI.create("http://127.0.0.1:0"))
                .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, "local", "local").build();
        proxy.start();
        for (int i = 0; i < 200 && !"STARTED".equals(proxy.getState()); i++) {
            Thread.sleep(25);
        }
        endpoint = URI.create("http://127.0.0.1:" + proxy.getPort());
    }

    @AfterAll
    static void stopS3() throws Exception {
        if (proxy != null) {
            proxy.stop();
        }
        if (blobs != null) {
            blobs.close();
        }
    }

    @Test
    void flowsBecomeMultipartObjectsServedBackWhole() throws Exception {
        long[] sizes = {24L << 20, (11L << 20) + 7, 1000};
        try (S3ObjectStore store = S3ObjectStore.open(endpoint, "gateway-test", PART);
             StorageGateway g = StorageGateway.start(GatewayConfig.defaults().withTokenBudget(BUDGET), store,
                     System.out::println);
             ExecutorService senders = Executors.newFixedThreadPool(sizes.length)) {
            List<Future<?>> sent = new ArrayList<>();
            for (int i = 0; i < sizes.length; i++) {
                int period = 20 + i;
                long size = sizes[i];
                sent.add(senders.submit(() -> {
                    new PatternSender(period).send(g.flowAddress(), size);
                    return null;
                }));
            }
            for (Future<?> f : sent) {
                f.get();
            }
            List<FlowResult> results = g.results().take(sizes.length).collectList().block(Duration.ofSeconds(120));
            assertThat(results).allSatisfy(r -> {
                assertThat(r.error()).isNull();
                assertThat(r.maxOutstanding()).isLessThanOrEqualTo(BUDGET);
                assertThat(r.manifest().target()).isEqualTo("s3");
            });
            assertThat(store.list()).hasSize(sizes.length);
            HttpReader http = new HttpReader(g.httpAddress());
            for (int i = 0; i < sizes.length; i++) {
                long size = sizes[i];
                int period = 20 + i;
                Manifest m = results.stream().filter(r -> r.manifest().size() == size).findFirst().orElseThrow().manifest();
                assertThat(m.crc32c()).isEqualTo(Manifest.hex(PatternSender.crc32c(period, size)));
                // a flow bigger than its budget could only finish if parts released tokens on their way
                long parts = Math.max(1, (size + PART - 1) / PART);
                assertThat(m.syncs()).isGreaterThanOrEqualTo(parts);
                HttpResponse<byte[]> whole = http.get("/objects/" + m.key(), null);
                assertThat(whole.statusCode()).isEqualTo(200);
                assertThat(HttpReader.crc32c(whole.body())).isEqualTo(m.crc32c());
                assertThat(PatternSender.mismatch(whole.body(), 0, period)).isEqualTo(-1);
                long first = size / 2;
                HttpResponse<byte[]> part = http.get("/objects/" + m.key(), "bytes=" + first + "-");
                assertThat(part.statusCode()).isEqualTo(206);
                assertThat(part.body()).hasSize((int) (size - first));
                assertThat(PatternSender.mismatch(part.body(), first, period)).isEqualTo(-1);
            }
            assertThat(g.stats().outstandingFrags()).isZero();
        }
    }

    /**
     * A budget of 4 MiB of frags cannot fill a 5 MiB part: without relieving (copying the open part so
     * its frags can go back) the flow would wait forever for bytes its own budget stops it from reading.
     */
    @Test
    void aBudgetSmallerThanAPartStillCompletes() throws Exception {
        long size = (12L << 20) + 5;
        try (S3ObjectStore store = S3ObjectStore.open(endpoint, "gateway-small-budget", PART);
             StorageGateway g = StorageGateway.start(GatewayConfig.defaults().withTokenBudget(1024), store,
                     System.out::println)) {
            new PatternSender(29).send(g.flowAddress(), size);
            FlowResult r = g.results().blockFirst(Duration.ofSeconds(120));
            assertThat(r.error()).isNull();
            assertThat(r.maxOutstanding()).isLessThanOrEqualTo(1024);
            assertThat(r.manifest().crc32c()).isEqualTo(Manifest.hex(PatternSender.crc32c(29, size)));
            byte[] body = new HttpReader(g.httpAddress()).get("/objects/" + r.key(), null).body();
            assertThat(body).hasSize((int) size);
            assertThat(PatternSender.mismatch(body, 0, 29)).isEqualTo(-1);
        }
    }
}
