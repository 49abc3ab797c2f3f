package dev.devmem.gateway.store;

import dev.devmem.api.Errno;
import dev.devmem.api.SyscallException;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * The few libc calls the file store needs that {@link java.nio.channels.FileChannel} cannot make:
 * {@code open(O_DIRECT)}, {@code pwrite} from an aligned native address, {@code ftruncate},
 * {@code fdatasync} and {@code close} on that descriptor. One {@code static final} handle per
 * function, errno captured per call in a thread-confined segment, failures as
 * {@link SyscallException} with the operation and the errno (so ENOSPC and EINVAL stay typed).
 *
 * <p>The library's own syscall layer is internal to {@code devmem-ffm}; a sample uses only public API,
 * so it carries these five downcalls itself.
 */
final class Posix {
    static final int O_WRONLY = 01;
    static final int O_CREAT = 0100;
    static final int O_TRUNC = 01000;
    static final int O_DIRECT = 040000;
    static final int O_CLOEXEC = 02000000;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final Linker.Option CAPTURE_ERRNO = Linker.Option.captureCallState("errno");

    private static final MethodHandle OPEN = downcall("open",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
    private static final MethodHandle PWRITE = downcall("pwrite",
            FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG,
                    ValueLayout.JAVA_LONG));
    private static final MethodHandle PWRITEV = downcall("pwritev",
            FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT,
                    ValueLayout.JAVA_LONG));
    /** {@code struct iovec { void *iov_base; size_t iov_len; }} */
    static final long IOVEC_BYTES = 16;
    static final int IOV_MAX = 1024;
    private static final MethodHandle FTRUNCATE = downcall("ftruncate",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG));
    private static final MethodHandle FDATASYNC = downcall("fdatasync",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
    private static final MethodHandle CLOSE = downcall("close",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));

    private static final ThreadLocal<MemorySegment> STATE =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(CAPTURE));

    private Posix() {
    }

    private static MethodHandle downcall(String name, FunctionDescriptor fd) {
        MemorySegment symbol = LINKER.defaultLookup().find(name)
                .orElseThrow(() -> new IllegalStateException("libc has no " + name));
        return LINKER.downcallHandle(symbol, fd, CAPTURE_ERRNO);
    }

    private static Errno errno(MemorySegment state) {
        return Errno.of((int) ERRNO.get(state, 0L));
    }

    static int open(String path, int flags, int mode) throws SyscallException {
        MemorySegment state = STATE.get();
        try (Arena a = Arena.ofConfined()) {
            int fd = (int) OPEN.invokeExact(state, a.allocateFrom(path), flags, mode);
            if (fd < 0) {
                throw new SyscallException("open(" + path + ((flags & O_DIRECT) != 0 ? ", O_DIRECT)" : ")"), errno(state));
            }
            return fd;
        } catch (SyscallException e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** Writes all of {@code src} at {@code offset}, repeating on short writes and EINTR. */
    static void pwriteFully(int fd, MemorySegment src, long offset, String what) throws SyscallException {
        MemorySegment state = STATE.get();
        long done = 0;
        long length = src.byteSize();
        while (done < length) {
            long n;
            try {
                n = (long) PWRITE.invokeExact(state, fd, src.asSlice(done), length - done, offset + done);
            } catch (Throwable t) {
                throw new AssertionError(t);
            }
            if (n < 0) {
                Errno e = errno(state);
                if (e.equals(Errno.EINTR)) {
                    continue;
                }
                throw new SyscallException("pwrite(" + what + ", offset " + (offset + done) + ")", e);
            }
            done += n;
        }
    }

    /**
     * Writes the {@code count} iovecs at {@code iov} (total {@code bytes}) at {@code offset}: one system
     * call for many buffers. A short write (rare on a regular file) finishes buffer by buffer.
     */
    static void pwritevFully(int fd, MemorySegment iov, int count, long bytes, long offset, String what)
            throws SyscallException {
        MemorySegment state = STATE.get();
        long n;
        while (true) {
            try {
                n = (long) PWRITEV.invokeExact(state, fd, iov, count, offset);
            } catch (Throwable t) {
                throw new AssertionError(t);
            }
            if (n >= 0) {
                break;
            }
            Errno e = errno(state);
            if (!e.equals(Errno.EINTR)) {
                throw new SyscallException("pwritev(" + what + ", offset " + offset + ", " + count + " buffers)", e);
            }
        }
        if (n == bytes) {
            return;
        }
        long at = 0;
        for (int i = 0; i < count; i++) {
            long base = iov.get(ValueLayout.JAVA_LONG, i * IOVEC_BYTES);
            long len = iov.get(ValueLayout.JAVA_LONG, i * IOVEC_BYTES + 8);
            if (at + len > n) {
                long skip = Math.max(0, n - at);
                pwriteFully(fd, MemorySegment.ofAddress(base + skip).reinterpret(len - skip), offset + at + skip, what);
            }
            at += len;
        }
    }

    static void ftruncate(int fd, long size, String what) throws SyscallException {
        check(invokeInt(FTRUNCATE, fd, size), "ftruncate(" + what + ", " + size + ")");
    }

    static void fdatasync(int fd, String what) throws SyscallException {
        check(invokeInt(FDATASYNC, fd), "fdatasync(" + what + ")");
    }

    static void close(int fd) {
        invokeInt(CLOSE, fd);
    }

    private static int invokeInt(MethodHandle h, int fd) {
        try {
            return (int) h.invokeExact(STATE.get(), fd);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    private static int invokeInt(MethodHandle h, int fd, long arg) {
        try {
            return (int) h.invokeExact(STATE.get(), fd, arg);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    private static void check(int rc, String what) throws SyscallException {
        if (rc < 0) {
            throw new SyscallException(what, errno(STATE.get()));
        }
    }
}
