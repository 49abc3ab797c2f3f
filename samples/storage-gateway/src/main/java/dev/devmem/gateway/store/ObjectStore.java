package dev.devmem.gateway.store;

import org.reactivestreams.Publisher;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * Where the gateway keeps objects: the local filesystem ({@link FileObjectStore}, the embedded
 * default) or an S3 bucket. An object is written through an {@link ObjectSink} and becomes visible
 * only when its manifest is published by {@link ObjectSink#commit}; until then no listing or read
 * shows it, and a crash leaves nothing a reader could mistake for a whole object.
 */
public interface ObjectStore extends AutoCloseable {

    /** One line for logs: the kind of store, where, and how it writes (e.g. O_DIRECT or why not). */
    String describe();

    /** Starts a new object named {@code key}; nothing is visible until {@link ObjectSink#commit}. */
    ObjectSink create(String key) throws IOException;

    /** Manifests of the visible objects, oldest first. */
    List<Manifest> list() throws IOException;

    /** The manifest of a visible object. */
    Optional<Manifest> manifest(String key) throws IOException;

    /**
     * A local file holding exactly the object's bytes, for zero-copy serving ({@code sendfile}), or
     * empty when the store is remote and {@link #read} must be used.
     */
    default Optional<Path> localFile(String key) {
        return Optional.empty();
    }

    /** Bytes {@code [from, from + count)} of a visible object. */
    Publisher<ByteBuffer> read(String key, long from, long count);

    @Override
    void close();
}
