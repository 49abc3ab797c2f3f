package dev.devmem.ffm.linux;

import dev.devmem.api.Errno;
import dev.devmem.ffm.rx.SocketEndpoint;
import dev.devmem.ffm.sys.LinuxConstants;
import dev.devmem.ffm.sys.SockAddr;
import dev.devmem.ffm.sys.Structs;
import dev.devmem.ffm.sys.Syscalls;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetSocketAddress;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A kernel TCP socket as a {@link SocketEndpoint}: each call is the system call itself, answered by
 * the kernel, so the devmem engine above is tested against the real ABI.
 *
 * <p>Why the closed check on every call: once the fd is closed its number can be reused by any
 * other open in the process, and a late {@code setsockopt(SO_DEVMEM_DONTNEED)} on a reused number
 * could free another socket's tokens. After {@link #close()} every call answers {@code -EBADF}
 * without reaching the kernel.
 */
public final class LinuxSocketEndpoint implements SocketEndpoint {
    private static final int EBADF = -Errno.EBADF.number();

    private final int fd;
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile InetSocketAddress local;
    private volatile InetSocketAddress remote;

    /** Takes ownership of {@code fd}, a connected, non-blocking TCP socket. */
    public LinuxSocketEndpoint(int fd) {
        this(fd, null);
    }

    /**
     * Takes ownership of {@code fd}, whose peer is {@code remote} as {@code accept4} reported it
     * ({@code null}: ask {@code getpeername} when needed). After a reset only accept can still
     * tell the peer's address: {@code getpeername} then fails with ENOTCONN.
     */
    public LinuxSocketEndpoint(int fd, InetSocketAddress remote) {
        if (fd < 0) {
            throw new IllegalArgumentException("fd must be >= 0, was " + fd);
        }
        this.fd = fd;
        this.remote = remote;
    }

    /** The fd, or {@code -1} once closed. For tests and diagnostics; do not close it. */
    public int fd() {
        return closed.get() ? -1 : fd;
    }

    @Override
    public long recvmsg(MemorySegment msghdr, int flags) {
        return closed.get() ? EBADF : Syscalls.recvmsg(fd, msghdr, flags);
    }

    @Override
    public long sendmsg(MemorySegment msghdr, int flags) {
        return closed.get() ? EBADF : Syscalls.sendmsg(fd, msghdr, flags);
    }

    @Override
    public int setsockopt(int level, int name, MemorySegment value, int len) {
        return closed.get() ? EBADF : Syscalls.setsockopt(fd, level, name, value, len);
    }

    @Override
    public int getsockopt(int level, int name, MemorySegment value, MemorySegment len) {
        return closed.get() ? EBADF : Syscalls.getsockopt(fd, level, name, value, len);
    }

    @Override
    public int shutdown(int how) {
        return closed.get() ? EBADF : Syscalls.shutdown(fd, how);
    }

    @Override
    public int pollFd() {
        return closed.get() ? -1 : fd;
    }

    @Override
    public short pollEvents() {
        return LinuxConstants.POLLIN;
    }

    /** {@code getsockname}, cached; {@code null} if the kernel cannot say (closed socket). */
    @Override
    public InetSocketAddress localAddress() {
        InetSocketAddress a = local;
        if (a == null) {
            a = local = address(true);
        }
        return a;
    }

    /**
     * The address accept reported, else {@code getpeername}, cached; {@code null} if the kernel cannot
     * say (reset before it was asked, closed).
     */
    @Override
    public InetSocketAddress remoteAddress() {
        InetSocketAddress a = remote;
        if (a == null) {
            a = remote = address(false);
        }
        return a;
    }

    private InetSocketAddress address(boolean localSide) {
        if (closed.get()) {
            return null;
        }
        return socketAddress(fd, localSide);
    }

    static InetSocketAddress socketAddress(int fd, boolean localSide) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment addr = arena.allocate(Structs.SOCKADDR_STORAGE_SIZE, 8);
            MemorySegment len = arena.allocate(ValueLayout.JAVA_INT);
            len.set(ValueLayout.JAVA_INT, 0, Structs.SOCKADDR_STORAGE_SIZE);
            int r = localSide ? Syscalls.getsockname(fd, addr, len) : Syscalls.getpeername(fd, addr, len);
            return r < 0 ? null : SockAddr.read(addr);
        }
    }

    /** Closes the fd exactly once; the kernel frees every devmem token the socket still held. */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            Syscalls.close(fd);
        }
    }

    @Override
    public String toString() {
        return "LinuxSocketEndpoint[fd " + fd + (closed.get() ? ", closed" : "") + "]";
    }
}
