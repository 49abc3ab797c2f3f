package dev.devmem.ffm.dmabuf;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Optional;

/**
 * A dmabuf this library exported and owns: its fd, size, an optional host mapping, and whatever
 * backs it (a memfd, a CUDA allocation). {@link #close()} releases all of it, once. A bound
 * dmabuf may be closed while the kernel still uses it: the binding holds its own reference.
 *
 * <p>The host view (udmabuf, a mappable heap) lives in a shared arena, so reading it after close
 * throws rather than crashing the JVM.
 */
public final class DmabufAllocation implements AutoCloseable {
    private final String exporter;
    private final int fd;
    private final long size;
    private final Arena viewArena;
    private final MemorySegment view;
    private final boolean ownsFd;
    private final Runnable backingRelease;
    private boolean closed;

    DmabufAllocation(String exporter, int fd, boolean ownsFd, long size, Arena viewArena, MemorySegment view,
                     Runnable backingRelease) {
        this.exporter = exporter;
        this.fd = fd;
        this.ownsFd = ownsFd;
        this.size = size;
        this.viewArena = viewArena;
        this.view = view;
        this.backingRelease = backingRelease;
    }

    /** Which exporter made it: {@code udmabuf}, {@code dma-heap:<name>}, {@code cuda:<device>}, {@code fd}. */
    public String exporter() {
        return exporter;
    }

    /** The dmabuf file descriptor. */
    public int fd() {
        return fd;
    }

    public long size() {
        return size;
    }

    /** The dmabuf's bytes mapped into this process, when the exporter allows it. */
    public Optional<MemorySegment> hostView() {
        return Optional.ofNullable(view);
    }

    /** Whether {@link #close()} closes the fd (not for a dmabuf the caller passed in and still owns). */
    public boolean ownsFd() {
        return ownsFd;
    }

    /** Unmaps the view, closes the fd if it is ours and frees the backing memory. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (viewArena != null) {
            viewArena.close();
        }
        if (ownsFd) {
            dev.devmem.ffm.sys.Syscalls.closeQuietly(fd);
        }
        if (backingRelease != null) {
            backingRelease.run();
        }
    }

    @Override
    public String toString() {
        return "DmabufAllocation[" + exporter + ", fd " + fd + ", " + size + " bytes" + (closed ? ", closed]" : "]");
    }
}
