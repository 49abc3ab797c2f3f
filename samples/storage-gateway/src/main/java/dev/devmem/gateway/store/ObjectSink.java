package dev.devmem.gateway.store;

import java.io.IOException;
import java.lang.foreign.MemorySegment;

/**
 * One object being written, by one thread, in stream order. The caller keeps the memory it passed to
 * {@link #write} valid (the frags unreleased) until {@link #durable()} has moved past it: a file
 * store may still read it (an O_DIRECT staging tail), an S3 store sends parts straight from it.
 *
 * <p>"Durable" means what survives a crash of this process and of the machine: fsynced to the disk,
 * or acknowledged by the object store.
 */
public interface ObjectSink {

    /**
     * Stores {@code src}, the object's bytes from {@code position} (the previous write's end). The
     * segment is read now or later, but only until {@link #durable()} passes its end.
     *
     * @throws StoreException typed ({@link StoreFullException} for ENOSPC) when the store refuses
     */
    void write(MemorySegment src, long position) throws IOException;

    /** Object bytes below this position are durable; the caller may release their memory. Never blocks. */
    long durable();

    /**
     * Makes durable what can be made durable now (an fsync; waiting for parts in flight) and returns
     * {@link #durable()}. May leave bytes not durable when the store needs more before it can act (an
     * S3 part below the minimum size).
     */
    long sync() throws IOException;

    /**
     * Called when the caller must get memory back (it holds much and the store made no progress):
     * the store may copy what it still needs out of the caller's memory. Default: {@link #sync()}.
     */
    default long relieve() throws IOException {
        return sync();
    }

    /** How many durability points (fsyncs, acknowledged parts) this object took so far. */
    long syncs();

    /**
     * Makes every byte durable, then publishes {@code manifest} atomically: from its return the object
     * is visible, whole. On failure nothing is visible and the caller must {@link #abort()}.
     */
    void commit(Manifest manifest) throws IOException;

    /** Removes whatever was written; the object never becomes visible. Idempotent, never throws. */
    void abort();
}
