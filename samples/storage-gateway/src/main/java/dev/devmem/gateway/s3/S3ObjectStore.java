package dev.devmem.gateway.s3;

import dev.devmem.gateway.store.Manifest;
import dev.devmem.gateway.store.ObjectSink;
import dev.devmem.gateway.store.ObjectStore;
import dev.devmem.gateway.store.StoreException;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.async.AsyncRequestBody;
import software.amazon.awssdk.core.async.AsyncResponseTransformer;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3AsyncClient;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;

import java.io.IOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionException;

/**
 * Objects in an S3 bucket (AWS S3 or any S3-compatible server), through the AWS SDK v2 async client:
 * each flow is a multipart upload whose parts are sent straight from the frags' memory
 * ({@link S3Sink}); the manifest {@code KEY.manifest.json} is put after the upload completes, and
 * an object is visible exactly when its manifest exists (as in the file store).
 *
 * <p>Credentials come from {@code AWS_ACCESS_KEY_ID}/{@code AWS_SECRET_ACCESS_KEY} when set (a local
 * test server accepts any), the region from {@code AWS_REGION} (default us-east-1). Path-style
 * addressing, so any host name works. The SDK's default request checksums are asked for only where
 * S3 requires them: compatible servers do not all take the trailing-checksum encoding.
 */
public final class S3ObjectStore implements ObjectStore {
    static final String MANIFEST = ".manifest.json";
    /** S3's smallest part (except the last). */
    public static final long MIN_PART = 5L << 20;

    private final S3AsyncClient s3;
    private final URI endpoint;
    private final String bucket;
    private final long partSize;

    private S3ObjectStore(S3AsyncClient s3, URI endpoint, String bucket, long partSize) {
        this.s3 = s3;
        this.endpoint = endpoint;
        this.bucket = bucket;
        this.partSize = partSize;
    }

    /** Connects, creates {@code bucket} if it does not exist. */
    public static S3ObjectStore open(URI endpoint, String bucket, long partSize) throws IOException {
        if (partSize < MIN_PART) {
            throw new IllegalArgumentException("an S3 part is at least 5 MiB, was " + partSize);
        }
        String id = System.getenv().getOrDefault("AWS_ACCESS_KEY_ID", "local");
        String secret = System.getenv().getOrDefault("AWS_SECRET_ACCESS_KEY", "local");
        S3AsyncClient s3 = S3AsyncClient.builder()
                .endpointOverride(endpoint)
                .region(Region.of(System.getenv().getOrDefault("AWS_REGION", "us-east-1")))
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(id, secret)))
                .forcePathStyle(true)
                .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
                .build();
        try {
            s3.headBucket(b -> b.bucket(bucket)).join();
        } catch (CompletionException e) {
            try {
                s3.createBucket(b -> b.bucket(bucket)).join();
            } catch (CompletionException c) {
                s3.close();
                throw typed("(store)", "creating bucket " + bucket + " at " + endpoint, c);
            }
        }
        return new S3ObjectStore(s3, endpoint, bucket, partSize);
    }

    static StoreException typed(String key, String doing, Throwable t) {
        Throwable c = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
        if (c instanceof StoreException s) {
            return s;
        }
        if (c instanceof S3Exception e && e.awsErrorDetails() != null) {
            return new StoreException(key, doing + ": S3 " + e.statusCode() + " " + e.awsErrorDetails().errorCode()
                    + ": " + e.awsErrorDetails().errorMessage(), c);
        }
        return new StoreException(key, doing + ": " + c, c);
    }

    S3AsyncClient client() {
        return s3;
    }

    String bucket() {
        return bucket;
    }

    @Override
    public String describe() {
        return "s3 store " + endpoint + " bucket " + bucket + ", multipart parts of " + (partSize >> 20) + " MiB";
    }

    @Override
    public ObjectSink create(String key) throws IOException {
        return S3Sink.create(this, key, partSize);
    }

    void putManifest(Manifest m) throws IOException {
        try {
            s3.putObject(b -> b.bucket(bucket).key(m.key() + MANIFEST).contentType("application/json"),
                    AsyncRequestBody.fromBytes(m.toJson())).join();
        } catch (CompletionException e) {
            throw typed(m.key(), "putting the manifest", e);
        }
    }

    @Override
    public List<Manifest> list() throws IOException {
        List<Manifest> all = new ArrayList<>();
        try {
            List<S3Object> objects = Flux.from(s3.listObjectsV2Paginator(b -> b.bucket(bucket)).contents())
                    .collectList().block();
            for (S3Object o : objects) {
                if (o.key().endsWith(MANIFEST)) {
                    manifest(o.key().substring(0, o.key().length() - MANIFEST.length())).ifPresent(all::add);
                }
            }
        } catch (RuntimeException e) {
            throw typed("(list)", "listing " + bucket, e);
        }
        all.sort(Comparator.comparing(Manifest::created).thenComparing(Manifest::key));
        return all;
    }

    @Override
    public Optional<Manifest> manifest(String key) throws IOException {
        try {
            byte[] json = s3.getObject(b -> b.bucket(bucket).key(key + MANIFEST), AsyncResponseTransformer.toBytes())
                    .join().asByteArray();
            return Optional.of(Manifest.fromJson(json));
        } catch (CompletionException e) {
            if (e.getCause() instanceof NoSuchKeyException) {
                return Optional.empty();
            }
            throw typed(key, "reading the manifest", e);
        }
    }

    @Override
    public Publisher<ByteBuffer> read(String key, long from, long count) {
        return Mono.fromFuture(() -> s3.getObject(b -> b.bucket(bucket).key(key)
                                .range("bytes=" + from + "-" + (from + count - 1)),
                        AsyncResponseTransformer.toPublisher()))
                .flatMapMany(Flux::from);
    }

    @Override
    public void close() {
        s3.close();
    }
}
