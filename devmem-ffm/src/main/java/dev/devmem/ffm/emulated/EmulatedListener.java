package dev.devmem.ffm.emulated;

import dev.devmem.api.DevmemException;
import dev.devmem.api.Errno;
import dev.devmem.ffm.rx.PollSource;
import dev.devmem.ffm.sys.SockAddr;
import dev.devmem.ffm.sys.Structs;
import dev.devmem.ffm.sys.Syscalls;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetSocketAddress;

import static dev.devmem.ffm.sys.LinuxConstants.*;

/**
 * A real, non-blocking TCP listener whose accepted connections arrive through an
 * {@link EmulatedNic}: each is steered to an rx queue and read through an {@link EmulatedEndpoint}.
 */
public final class EmulatedListener implements PollSource, AutoCloseable {
    private final EmulatedNic nic;
    private final int fd;
    private final InetSocketAddress local;
    private volatile boolean closed;

    private EmulatedListener(EmulatedNic nic, int fd, InetSocketAddress local) {
        this.nic = nic;
        this.fd = fd;
        this.local = local;
    }

    static EmulatedListener open(EmulatedNic nic, InetSocketAddress address, int backlog) throws DevmemException {
        int fd = Syscalls.check(Syscalls.socket(SockAddr.family(address), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0),
                "socket");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment one = arena.allocate(ValueLayout.JAVA_INT);
            one.set(ValueLayout.JAVA_INT, 0, 1);
            Syscalls.check(Syscalls.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, one, 4), "setsockopt(SO_REUSEADDR)");
            MemorySegment sa = arena.allocate(Structs.SOCKADDR_STORAGE_SIZE);
            int len = SockAddr.write(sa, address);
            Syscalls.check(Syscalls.bind(fd, sa, len), "bind(" + SockAddr.describe(address) + ")");
            Syscalls.check(Syscalls.listen(fd, backlog), "listen");
            return new EmulatedListener(nic, fd, EmulatedNic.address(fd, true));
        } catch (DevmemException | RuntimeException e) {
            Syscalls.closeQuietly(fd);
            throw e;
        }
    }

    public InetSocketAddress localAddress() {
        return local;
    }

    /** The listening socket's fd. */
    public int fd() {
        return fd;
    }

    /** Accepts one pending connection, or returns {@code null} when none is pending. */
    public EmulatedEndpoint accept() throws DevmemException {
        int c;
        InetSocketAddress peer;
        // The peer's address comes with the accept, as for the kernel's listener: a peer that reset
        // while queued in the backlog is still accepted (its first recvmsg says ECONNRESET), but
        // getpeername on it would fail with ENOTCONN.
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment addr = arena.allocate(Structs.SOCKADDR_STORAGE_SIZE, 8);
            MemorySegment len = arena.allocate(ValueLayout.JAVA_INT);
            do {
                len.set(ValueLayout.JAVA_INT, 0, Structs.SOCKADDR_STORAGE_SIZE);
                c = Syscalls.accept4(fd, addr, len, SOCK_NONBLOCK | SOCK_CLOEXEC);
            } while (c == -Errno.EINTR.number() || c == -Errno.ECONNABORTED.number());
            if (c == -Errno.EAGAIN.number()) {
                return null;
            }
            Syscalls.check(c, "accept4 on " + SockAddr.describe(local));
            peer = SockAddr.read(addr);
        }
        try {
            return nic.attachAccepted(c, peer);
        } catch (DevmemException | RuntimeException e) {
            Syscalls.closeQuietly(c);
            throw e;
        }
    }

    @Override
    public int pollFd() {
        return closed ? -1 : fd;
    }

    @Override
    public short pollEvents() {
        return POLLIN;
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            Syscalls.closeQuietly(fd);
        }
    }
}
