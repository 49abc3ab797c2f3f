package dev.devmem.gateway.store;

import org.reactivestreams.Publisher;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A store whose writes are slowed by a {@link Throttle}: a slow disk on demand, to watch the token
 * budget push back on the sender ({@code --throttle} on the command line; a gate the tests open and
 * close). Everything else goes to the wrapped store unchanged.
 */
public final class ThrottledStore implements ObjectStore {

    /** Called before every write of {@code bytes}; blocks for as long as the disk should seem busy. */
    @FunctionalInterface
    public interface Throttle {
        void beforeWrite(long bytes) throws InterruptedException;

        /** At most {@code bytesPerSecond}, measured from the first write (a token bucket with no burst). */
        static Throttle rate(long bytesPerSecond) {
            if (bytesPerSecond <= 0) {
                throw new IllegalArgumentException("the throttle rate must be > 0 bytes/s, was " + bytesPerSecond);
            }
            return new Throttle() {
                private long start;
                private long bytes;

                @Override
                public synchronized void beforeWrite(long n) throws InterruptedException {
                    long now = System.nanoTime();
                    if (start == 0) {
                        start = now;
                    }
                    bytes += n;
                    long due = start + (long) (bytes * 1e9 / bytesPerSecond);
                    if (due > now) {
                        java.util.concurrent.TimeUnit.NANOSECONDS.sleep(due - now);
                    }
                }
            };
        }
    }

    private final ObjectStore inner;
    private final Throttle throttle;

    public ThrottledStore(ObjectStore inner, Throttle throttle) {
        this.inner = Objects.requireNonNull(inner, "inner");
        this.throttle = Objects.requireNonNull(throttle, "throttle");
    }

    @Override
    public String describe() {
        return inner.describe() + ", throttled";
    }

    @Override
    public ObjectSink create(String key) throws IOException {
        ObjectSink sink = inner.create(key);
        return new ObjectSink() {
            @Override
            public void write(MemorySegment src, long position) throws IOException {
                try {
                    throttle.beforeWrite(src.byteSize());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new InterruptedIOException("interrupted while the throttled disk was busy");
                }
                sink.write(src, position);
            }

            @Override
            public long durable() {
                return sink.durable();
            }

            @Override
            public long sync() throws IOException {
                return sink.sync();
            }

            @Override
            public long relieve() throws IOException {
                return sink.relieve();
            }

            @Override
            public long syncs() {
                return sink.syncs();
            }

            @Override
            public void commit(Manifest manifest) throws IOException {
                sink.commit(manifest);
            }

            @Override
            public void abort() {
                sink.abort();
            }
        };
    }

    @Override
    public List<Manifest> list() throws IOException {
        return inner.list();
    }

    @Override
    public Optional<Manifest> manifest(String key) throws IOException {
        return inner.manifest(key);
    }

    @Override
    public Optional<Path> localFile(String key) {
        return inner.localFile(key);
    }

    @Override
    public Publisher<ByteBuffer> read(String key, long from, long count) {
        return inner.read(key, from, count);
    }

    @Override
    public void close() {
        inner.close();
    }
}
