package dev.devmem.gateway.store;

import dev.devmem.api.SyscallException;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * An object file written with {@code O_DIRECT}: the disk reads the bytes from user memory, no page
 * cache. O_DIRECT needs the address, file offset and length aligned to the block size, which a TCP
 * stream's frags rarely are (a partial frag shifts everything after it). So:
 * <ul>
 * <li>frags that are aligned in all three, arriving when nothing is staged, are written straight from
 *     their own memory (the dmabuf's host mapping), gathered up to {@link Posix#IOV_MAX} at a time into
 *     one {@code pwritev}: zero copies in user space;</li>
 * <li>everything else is gathered into one aligned native staging buffer (one copy, off the Java
 *     heap) that is written in whole blocks; the last, partial block is written padded and kept
 *     staged, so the next write rewrites it with more bytes; {@link #commit} truncates the padding.</li>
 * </ul>
 * {@link #sync()} writes what is staged and calls {@code fdatasync}: O_DIRECT bypasses the page cache,
 * not the disk's write cache.
 */
final class DirectFileSink implements ObjectSink {
    static final int STAGING = 4 << 20;
    private static final int ALIGN = DirectIo.ALIGN;

    private final FileObjectStore store;
    private final String key;
    private final Path data;
    private final int fd;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment staging;
    /** Aligned frags not yet written, from file offset stagedStart; only while nothing is staged. */
    private final MemorySegment iov;
    private int iovCount;
    private long iovBytes;
    /** File offset of staging[0]: always a multiple of ALIGN. The object's end is stagedStart + stagedLen. */
    private long stagedStart;
    private int stagedLen;
    private long durable;
    private long syncs;
    private long zeroCopyBytes;
    private boolean closed;

    private DirectFileSink(FileObjectStore store, String key, Path data, int fd) {
        this.store = store;
        this.key = key;
        this.data = data;
        this.fd = fd;
        this.staging = arena.allocate(STAGING, ALIGN);
        this.iov = arena.allocate(Posix.IOVEC_BYTES * Posix.IOV_MAX, 8);
    }

    static DirectFileSink create(FileObjectStore store, String key, Path data) throws IOException {
        if (Files.exists(data)) {
            throw new StoreException(key, "already exists", null);
        }
        try {
            return new DirectFileSink(store, key, data, Posix.open(data.toString(),
                    Posix.O_WRONLY | Posix.O_CREAT | Posix.O_DIRECT | Posix.O_CLOEXEC, 0644));
        } catch (SyscallException e) {
            throw Failures.typed(key, "creating " + data, e);
        }
    }

    private long end() {
        return stagedStart + stagedLen + iovBytes;
    }

    @Override
    public void write(MemorySegment src, long position) throws IOException {
        if (position != end()) {
            throw new IllegalArgumentException("writes must be in stream order: expected position " + end()
                    + ", got " + position);
        }
        long len = src.byteSize();
        try {
            if (stagedLen % ALIGN == 0 && aligned(src.address()) && aligned(len) && len > 0) {
                flushWholeBlocks();
                long at = Posix.IOVEC_BYTES * iovCount++;
                iov.set(java.lang.foreign.ValueLayout.JAVA_LONG, at, src.address());
                iov.set(java.lang.foreign.ValueLayout.JAVA_LONG, at + 8, len);
                iovBytes += len;
                zeroCopyBytes += len;
                if (iovCount == Posix.IOV_MAX) {
                    flushIov();
                }
                return;
            }
            flushIov();
            long done = 0;
            while (done < len) {
                int n = (int) Math.min(len - done, STAGING - stagedLen);
                MemorySegment.copy(src, done, staging, stagedLen, n);
                stagedLen += n;
                done += n;
                if (stagedLen == STAGING) {
                    flushWholeBlocks();
                }
            }
        } catch (SyscallException e) {
            throw Failures.typed(key, "writing at offset " + position, e);
        }
    }

    private static boolean aligned(long v) {
        return (v & (ALIGN - 1)) == 0;
    }

    /** Writes the gathered aligned frags from their own memory. */
    private void flushIov() throws SyscallException {
        if (iovCount > 0) {
            Posix.pwritevFully(fd, iov, iovCount, iovBytes, stagedStart, data.toString());
            stagedStart += iovBytes;
            iovCount = 0;
            iovBytes = 0;
        }
    }

    /** Writes the staged whole blocks and keeps the partial tail block staged (moved to the front). */
    private void flushWholeBlocks() throws SyscallException {
        int whole = stagedLen & ~(ALIGN - 1);
        if (whole == 0) {
            return;
        }
        Posix.pwriteFully(fd, staging.asSlice(0, whole), stagedStart, data.toString());
        int tail = stagedLen - whole;
        if (tail > 0) {
            MemorySegment.copy(staging, whole, staging, 0, tail);
        }
        stagedStart += whole;
        stagedLen = tail;
    }

    /** Writes everything staged, the last block zero-padded (it stays staged, to be rewritten). */
    private void flushAll() throws SyscallException {
        flushIov();
        flushWholeBlocks();
        if (stagedLen > 0) {
            staging.asSlice(stagedLen, ALIGN - stagedLen).fill((byte) 0);
            Posix.pwriteFully(fd, staging.asSlice(0, ALIGN), stagedStart, data.toString());
        }
    }

    @Override
    public long durable() {
        return durable;
    }

    @Override
    public long sync() throws IOException {
        long end = end();
        if (end > durable) {
            try {
                flushAll();
                Posix.fdatasync(fd, data.toString());
            } catch (SyscallException e) {
                throw Failures.typed(key, "sync at offset " + end, e);
            }
            durable = end;
            syncs++;
        }
        return durable;
    }

    @Override
    public long syncs() {
        return syncs;
    }

    /** Bytes written straight from the caller's memory, without staging. */
    long zeroCopyBytes() {
        return zeroCopyBytes;
    }

    @Override
    public void commit(Manifest manifest) throws IOException {
        long end = end();
        if (manifest.size() != end) {
            throw new IllegalStateException("manifest says " + manifest.size() + " bytes, wrote " + end);
        }
        try {
            flushAll();
            Posix.ftruncate(fd, end, data.toString());
            Posix.fdatasync(fd, data.toString());
            durable = end;
            syncs++;
        } catch (SyscallException e) {
            throw Failures.typed(key, "commit at size " + end, e);
        }
        closeFd();
        store.publish(manifest);
    }

    private void closeFd() {
        if (!closed) {
            closed = true;
            Posix.close(fd);
            arena.close();
        }
    }

    @Override
    public void abort() {
        closeFd();
        try {
            Files.deleteIfExists(data);
        } catch (IOException ignored) {
            // the next open of the store removes it: it has no manifest
        }
    }
}
