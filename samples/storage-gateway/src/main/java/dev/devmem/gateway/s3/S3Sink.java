package dev.devmem.gateway.s3;

import dev.devmem.gateway.store.Manifest;
import dev.devmem.gateway.store.ObjectSink;
import software.amazon.awssdk.core.async.AsyncRequestBody;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.UploadPartResponse;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * One object as an S3 multipart upload. The frags' memory goes into a part as direct buffers
 * ({@link AsyncRequestBody#fromByteBuffersUnsafe}: no copy); a part is sent once it holds
 * {@code partSize} bytes, and {@link #durable()} moves past it only when S3 acknowledged it, so the
 * frags' tokens go back part by part. The last part may be smaller; {@link #commit} completes the
 * upload and then puts the manifest.
 *
 * <p>{@link #relieve()}: when the flow holds most of its token budget and the open part is still
 * below S3's 5 MiB minimum (small frags), the open part's bytes are copied into native memory of the
 * sink so the frags can go back; counted in {@link #relievedBytes()}. Otherwise a flow could wait for
 * bytes its own budget stops it from receiving.
 */
final class S3Sink implements ObjectSink {
    private final S3ObjectStore store;
    private final String key;
    private final long partSize;
    private final String uploadId;
    private final List<ByteBuffer> open = new ArrayList<>();
    private final ArrayDeque<InFlight> inFlight = new ArrayDeque<>();
    private final List<CompletedPart> done = new ArrayList<>();
    private final Arena arena = Arena.ofShared();
    private long openBytes;
    private long end;
    private long durable;
    private long relievedBytes;
    private int partNumber;
    private boolean finished;

    private record InFlight(int part, long end, CompletableFuture<UploadPartResponse> ack) {
    }

    private S3Sink(S3ObjectStore store, String key, long partSize, String uploadId) {
        this.store = store;
        this.key = key;
        this.partSize = partSize;
        this.uploadId = uploadId;
    }

    static S3Sink create(S3ObjectStore store, String key, long partSize) throws IOException {
        try {
            String id = store.client().createMultipartUpload(b -> b.bucket(store.bucket()).key(key)
                    .contentType("application/octet-stream")).join().uploadId();
            return new S3Sink(store, key, partSize, id);
        } catch (CompletionException e) {
            throw S3ObjectStore.typed(key, "starting the multipart upload", e);
        }
    }

    @Override
    public void write(MemorySegment src, long position) throws IOException {
        if (position != end) {
            throw new IllegalArgumentException("writes must be in stream order: expected position " + end
                    + ", got " + position);
        }
        open.add(src.asByteBuffer());
        openBytes += src.byteSize();
        end += src.byteSize();
        if (openBytes >= partSize) {
            sendOpenPart();
        }
    }

    private void sendOpenPart() {
        int part = ++partNumber;
        ByteBuffer[] body = open.toArray(ByteBuffer[]::new);
        long length = openBytes;
        CompletableFuture<UploadPartResponse> ack = store.client().uploadPart(b -> b.bucket(store.bucket()).key(key)
                .uploadId(uploadId).partNumber(part).contentLength(length),
                AsyncRequestBody.fromByteBuffersUnsafe(body));
        inFlight.add(new InFlight(part, end, ack));
        open.clear();
        openBytes = 0;
    }

    @Override
    public long durable() {
        while (!inFlight.isEmpty() && inFlight.peek().ack().isDone() && !inFlight.peek().ack().isCompletedExceptionally()) {
            InFlight f = inFlight.poll();
            done.add(CompletedPart.builder().partNumber(f.part()).eTag(f.ack().join().eTag()).build());
            durable = f.end();
        }
        return durable;
    }

    @Override
    public long sync() throws IOException {
        for (InFlight f : inFlight) {
            try {
                f.ack().join();
            } catch (CompletionException e) {
                throw S3ObjectStore.typed(key, "uploading part " + f.part(), e);
            }
        }
        return durable();
    }

    @Override
    public long relieve() throws IOException {
        if (openBytes > 0) {
            MemorySegment copy = arena.allocate(openBytes, 8);
            long at = 0;
            for (ByteBuffer b : open) {
                MemorySegment s = MemorySegment.ofBuffer(b);
                MemorySegment.copy(s, 0, copy, at, s.byteSize());
                at += s.byteSize();
            }
            open.clear();
            open.add(copy.asByteBuffer());
            relievedBytes += openBytes;
        }
        sync();
        // the caller's memory below `end` is no longer read: in flight parts are acknowledged, the open one copied
        return openBytes > 0 ? end : durable;
    }

    long relievedBytes() {
        return relievedBytes;
    }

    @Override
    public long syncs() {
        return done.size() + inFlight.size();
    }

    @Override
    public void commit(Manifest manifest) throws IOException {
        if (manifest.size() != end) {
            throw new IllegalStateException("manifest says " + manifest.size() + " bytes, wrote " + end);
        }
        if (openBytes > 0 || partNumber == 0) {
            sendOpenPart(); // the last part may be small; an empty object is one empty part
        }
        sync();
        try {
            store.client().completeMultipartUpload(b -> b.bucket(store.bucket()).key(key).uploadId(uploadId)
                    .multipartUpload(u -> u.parts(done))).join();
        } catch (CompletionException e) {
            throw S3ObjectStore.typed(key, "completing the multipart upload", e);
        }
        finished = true;
        arena.close();
        store.putManifest(manifest);
    }

    @Override
    public void abort() {
        for (InFlight f : inFlight) {
            f.ack().handle((r, t) -> null).join();
        }
        if (!finished) {
            finished = true;
            try {
                store.client().abortMultipartUpload(b -> b.bucket(store.bucket()).key(key).uploadId(uploadId)).join();
            } catch (CompletionException ignored) {
                // an unfinished upload is invisible anyway; a bucket lifecycle rule reaps it
            }
            arena.close();
        }
    }
}
