package dev.devmem.ffm.sys;

import dev.devmem.api.Errno;
import dev.devmem.api.SyscallException;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * libc system calls as FFM downcalls, errno captured with {@link Linker.Option#captureCallState}.
 *
 * <p>Convention: every call returns what the kernel returns, with failures as {@code -errno}
 * (the kernel's own convention), so the hot path neither allocates nor throws. {@link #check}
 * turns a negative result into a {@link SyscallException} where a failure is exceptional.
 *
 * <p>The errno capture segment is per thread: one shared segment (as some libraries do) would
 * let concurrent callers read each other's errno.
 */
public final class Syscalls {
    private Syscalls() {
    }

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CAPTURE_LAYOUT = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO =
            CAPTURE_LAYOUT.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final Linker.Option CAPTURE = Linker.Option.captureCallState("errno");
    private static final ThreadLocal<MemorySegment> CAPTURE_SEGMENT =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(CAPTURE_LAYOUT));

    private static MethodHandle downcall(String name, FunctionDescriptor descriptor, Linker.Option... extra) {
        Linker.Option[] options = new Linker.Option[extra.length + 1];
        options[0] = CAPTURE;
        System.arraycopy(extra, 0, options, 1, extra.length);
        MemorySegment symbol = LINKER.defaultLookup().find(name)
                .orElseThrow(() -> new UnsatisfiedLinkError("libc has no " + name));
        return LINKER.downcallHandle(symbol, descriptor, options);
    }

    private static final MethodHandle SOCKET = downcall("socket",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle BIND = downcall("bind",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle LISTEN = downcall("listen",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle ACCEPT4 = downcall("accept4",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
    private static final MethodHandle CONNECT = downcall("connect",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle RECVMSG = downcall("recvmsg",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle SENDMSG = downcall("sendmsg",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle RECV = downcall("recv",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));
    private static final MethodHandle SEND = downcall("send",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));
    private static final MethodHandle READ = downcall("read",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
    private static final MethodHandle WRITE = downcall("write",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
    private static final MethodHandle SETSOCKOPT = downcall("setsockopt",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle GETSOCKOPT = downcall("getsockopt",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle GETSOCKNAME = downcall("getsockname",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle GETPEERNAME = downcall("getpeername",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle SHUTDOWN = downcall("shutdown",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle POLL = downcall("poll",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));
    private static final MethodHandle EVENTFD = downcall("eventfd",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle CLOSE = downcall("close",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    private static final MethodHandle FCNTL = downcall("fcntl",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT), Linker.Option.firstVariadicArg(2));
    private static final MethodHandle IOCTL = downcall("ioctl",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS), Linker.Option.firstVariadicArg(2));
    private static final MethodHandle MEMFD_CREATE = downcall("memfd_create",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle FTRUNCATE = downcall("ftruncate",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG));
    private static final MethodHandle MMAP = downcall("mmap",
            FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG));
    private static final MethodHandle MUNMAP = downcall("munmap",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG));
    private static final MethodHandle OPEN = downcall("open",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), Linker.Option.firstVariadicArg(2));
    private static final MethodHandle SETNS = downcall("setns",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle IF_NAMETOINDEX = downcall("if_nametoindex",
            FunctionDescriptor.of(JAVA_INT, ADDRESS));
    private static final MethodHandle IF_INDEXTONAME = downcall("if_indextoname",
            FunctionDescriptor.of(ADDRESS, JAVA_INT, ADDRESS));
    private static final MethodHandle GETPID = downcall("getpid",
            FunctionDescriptor.of(JAVA_INT));

    private static MemorySegment capture() {
        return CAPTURE_SEGMENT.get();
    }

    private static int errno(MemorySegment capture) {
        return (int) ERRNO.get(capture, 0L);
    }

    private static int result(int r, MemorySegment capture) {
        return r == -1 ? -errno(capture) : r;
    }

    private static long result(long r, MemorySegment capture) {
        return r == -1 ? -errno(capture) : r;
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException re) {
            return re;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException("downcall failed", t);
    }

    public static int socket(int domain, int type, int protocol) {
        MemorySegment c = capture();
        try {
            return result((int) SOCKET.invokeExact(c, domain, type, protocol), c);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static int bind(int fd, MemorySegment addr, int addrLen) {
        MemorySegment c = capture();
        try {
            return result((int) BIND.invokeExact(c, fd, addr, addrLen), c);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static int listen(int fd, int backlog) {
        MemorySegment c = capture();
        try {
            return result((int) LISTEN.invokeExact(c, fd, backlog), c);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code addr}/{@code addrLen} may be {@link MemorySegment#NULL}. */
    public static int accept4(int fd, MemorySegment addr, MemorySegment addrLen, int flags) {
        MemorySegment c = capture();
        try {
            return result((int) ACCEPT4.invokeExact(c, fd, addr, addrLen, flags), c);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static int connect(int fd, MemorySegment addr, int addrLen) {
        MemorySegment c = capture();
        try {
            return result((int) CONNECT.invokeExact(c, fd, addr, addrLen), c);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static long recvmsg(int fd, MemorySegment msghdr, int flags) {
        MemorySegment c = capture();
        try {
            return result((long) RECVMSG.invokeExact(c, fd, msghdr, flags), c);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static long sendmsg(int fd, MemorySegment msghdr, int flags) {
        MemorySegment c = capture();
        try {
            return result((long) SENDMSG.invokeExact(c, fd, msghdr, flags), c);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static long recv(int fd, MemorySegment buf, long len, int flags) {
        MemorySegment c = capture();
        try {
            return result((long) RECV.invokeExact(c, fd, buf, len, flags), c);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static long send(int fd, MemorySegment buf, long len, int flags) {
        MemorySegment c = capture();
        try {
            return result((long) SEND.invokeExact(c, fd, buf, len, flags), c);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static long read(int fd, MemorySegment buf, long len) {
        MemorySegment c = capture();
        try {
            return result((long) READ.invokeExact(c, fd, buf, len), c);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static long write(int fd, MemorySegment buf, long len) {
        MemorySegment c = capture();
        try {
            return result((long) WRITE.invokeExact(c, fd, buf, len), c);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static int setsockopt(int fd, int level, int name, MemorySegment value, int len) {
        MemorySegment c = capture();
        try {
            return result((int) SETSOCKOPT.invokeExact(c, fd, level, name, value, len), c);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code len} is a 4-byte in/out socklen_t. */
    public static int getsockopt(int fd, int level, int name, MemorySegment value, MemorySegment len) {
        MemorySegment c = capture();
        try {
            return result((int) GETSOCKOPT.invokeExact(c, fd, level, name, value, len), c);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static int getsockname(int fd, MemorySegment addr, MemorySegment addrLen) {
        MemorySegment c = capture();
        try {
            return result((int) GETSOCKNAME.invokeExact(c, fd, addr, addrLen), c);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static int getpeername(int fd, MemorySegment addr, MemorySegment addrLen) {
        MemorySegment c = capture();
        try {
            return result((int) GETPEERNAME.invokeExact(c, fd, addr, addrLen), c);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static int shutdown(int fd, int how) {
        MemorySegment c = capture();
        try {
            return result((int) SHUTDOWN.invokeExact(c, fd, how), c);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code fds} holds {@code nfds} {@code struct pollfd} (see {@link Structs#POLLFD}). */
    public static int poll(MemorySegment fds, long nfds, int timeoutMillis) {
        MemorySegment c = capture();
        try {
            return result((int) POLL.invokeExact(c, fds, nfds, timeoutMillis), c);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static int eventfd(int initval, int flags) {
        MemorySegment c = capture();
        try {
            return result((int) EVENTFD.invokeExact(c, initval, flags), c);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static int close(int fd) {
        MemorySegment c = capture();
        try {
            return result((int) CLOSE.invokeExact(c, fd), c);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** fcntl with an int argument (F_GETFL, F_SETFL, F_ADD_SEALS, ...). */
    public static int fcntl(int fd, int cmd, int arg) {
        MemorySegment c = capture();
        try {
            return result((int) FCNTL.invokeExact(c, fd, cmd, arg), c);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** ioctl with a pointer argument. */
    public static int ioctl(int fd, long request, MemorySegment arg) {
        MemorySegment c = capture();
        try {
            return result((int) IOCTL.invokeExact(c, fd, request, arg), c);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static int memfdCreate(String name, int flags) {
        MemorySegment c = capture();
        try (Arena arena = Arena.ofConfined()) {
            return result((int) MEMFD_CREATE.invokeExact(c, arena.allocateFrom(name), flags), c);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static int ftruncate(int fd, long length) {
        MemorySegment c = capture();
        try {
            return result((int) FTRUNCATE.invokeExact(c, fd, length), c);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * Maps {@code length} bytes of {@code fd}. The returned segment is zero-length-free (sized to the
     * mapping) but unscoped: pair it with {@link #munmap} on the owner's single release path.
     */
    public static MemorySegment mmap(long length, int prot, int flags, int fd, long offset) throws SyscallException {
        MemorySegment c = capture();
        try {
            MemorySegment p = (MemorySegment) MMAP.invokeExact(c, MemorySegment.NULL, length, prot, flags, fd, offset);
            if (p.address() == -1L) {
                throw new SyscallException("mmap(" + length + " bytes, fd " + fd + ")", Errno.of(errno(c)));
            }
            return p.reinterpret(length);
        } catch (SyscallException e) {
            throw e;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static int munmap(MemorySegment addr, long length) {
        MemorySegment c = capture();
        try {
            return result((int) MUNMAP.invokeExact(c, addr, length), c);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static int open(String path, int flags) {
        MemorySegment c = capture();
        try (Arena arena = Arena.ofConfined()) {
            return result((int) OPEN.invokeExact(c, arena.allocateFrom(path), flags, 0), c);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Moves the calling thread into the namespace {@code fd} refers to (network namespaces are per thread). */
    public static int setns(int fd, int nstype) {
        MemorySegment c = capture();
        try {
            return result((int) SETNS.invokeExact(c, fd, nstype), c);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * The ifindex of interface {@code name} in the calling thread's network namespace, or
     * {@code -errno} (ENODEV when there is none).
     */
    public static int ifNameToIndex(String name) {
        MemorySegment c = capture();
        try (Arena arena = Arena.ofConfined()) {
            int r = (int) IF_NAMETOINDEX.invokeExact(c, arena.allocateFrom(name));
            return r == 0 ? -errno(c) : r;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * The name of interface {@code ifindex} in the calling thread's network namespace, or
     * {@code null} when there is none (libc: ENXIO).
     */
    public static String ifIndexToName(int ifindex) {
        MemorySegment c = capture();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(IF_NAMESIZE);
            MemorySegment r = (MemorySegment) IF_INDEXTONAME.invokeExact(c, ifindex, buf);
            return r.address() == 0 ? null : buf.getString(0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code IF_NAMESIZE}: interface names hold at most 15 bytes plus the NUL. */
    public static final int IF_NAMESIZE = 16;

    public static int getpid() {
        MemorySegment c = capture();
        try {
            return (int) GETPID.invokeExact(c);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Returns {@code r} when it is not negative, else throws the errno it carries. */
    public static int check(int r, String operation) throws SyscallException {
        if (r < 0) {
            throw new SyscallException(operation, Errno.of(-r));
        }
        return r;
    }

    /** Returns {@code r} when it is not negative, else throws the errno it carries. */
    public static long check(long r, String operation) throws SyscallException {
        if (r < 0) {
            throw new SyscallException(operation, Errno.of((int) -r));
        }
        return r;
    }

    /** Closes {@code fd} on a release path: EINTR still closes on Linux, other errors are not actionable. */
    public static void closeQuietly(int fd) {
        if (fd >= 0) {
            close(fd);
        }
    }
}
