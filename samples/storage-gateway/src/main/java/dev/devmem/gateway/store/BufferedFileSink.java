package dev.devmem.gateway.store;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * An object file written through the page cache: each frag's memory goes to {@link FileChannel#write(
 * ByteBuffer, long)} as a direct buffer over the frag (the kernel copies it into the page cache; no
 * copy into the Java heap), and {@link #sync()} is {@code fdatasync}.
 */
final class BufferedFileSink implements ObjectSink {
    private final FileObjectStore store;
    private final String key;
    private final Path data;
    private final FileChannel ch;
    private long written;
    private long durable;
    private long syncs;
    private boolean closed;

    private BufferedFileSink(FileObjectStore store, String key, Path data, FileChannel ch) {
        this.store = store;
        this.key = key;
        this.data = data;
        this.ch = ch;
    }

    static BufferedFileSink create(FileObjectStore store, String key, Path data) throws IOException {
        try {
            return new BufferedFileSink(store, key, data,
                    FileChannel.open(data, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE));
        } catch (FileAlreadyExistsException e) {
            throw new StoreException(key, "already exists", e);
        } catch (IOException e) {
            throw Failures.typed(key, "creating " + data, e);
        }
    }

    @Override
    public void write(MemorySegment src, long position) throws IOException {
        if (position != written) {
            throw new IllegalArgumentException("writes must be in stream order: expected position " + written
                    + ", got " + position);
        }
        ByteBuffer b = src.asByteBuffer();
        try {
            while (b.hasRemaining()) {
                ch.write(b, position + b.position());
            }
        } catch (IOException e) {
            throw Failures.typed(key, "writing at offset " + (position + b.position()), e);
        }
        written += src.byteSize();
    }

    @Override
    public long durable() {
        return durable;
    }

    @Override
    public long sync() throws IOException {
        if (written > durable) {
            try {
                ch.force(false);
            } catch (IOException e) {
                throw Failures.typed(key, "fdatasync", e);
            }
            durable = written;
            syncs++;
        }
        return durable;
    }

    @Override
    public long syncs() {
        return syncs;
    }

    @Override
    public void commit(Manifest manifest) throws IOException {
        if (manifest.size() != written) {
            throw new IllegalStateException("manifest says " + manifest.size() + " bytes, wrote " + written);
        }
        try {
            ch.force(true);
            durable = written;
            syncs++;
            ch.close();
            closed = true;
        } catch (IOException e) {
            throw Failures.typed(key, "fsync", e);
        }
        store.publish(manifest);
    }

    @Override
    public void abort() {
        try {
            if (!closed) {
                closed = true;
                ch.close();
            }
        } catch (IOException ignored) {
            // the file is deleted next
        }
        try {
            Files.deleteIfExists(data);
        } catch (IOException ignored) {
            // the next open of the store removes it: it has no manifest
        }
    }
}
