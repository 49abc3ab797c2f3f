package dev.devmem.ffm.linux;

import dev.devmem.api.Errno;
import dev.devmem.api.SyscallException;
import dev.devmem.ffm.sys.LinuxConstants;
import dev.devmem.ffm.sys.SockAddr;
import dev.devmem.ffm.sys.Structs;
import dev.devmem.ffm.sys.Syscalls;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetSocketAddress;

/** Socket set-up steps shared by the listener and connect; none of it is on the data path. */
final class LinuxSockets {
    private LinuxSockets() {
    }

    /** A non-blocking, close-on-exec TCP socket of the address's family. */
    static int openTcp(InetSocketAddress address) throws SyscallException {
        int family = SockAddr.family(address);
        return Syscalls.check(Syscalls.socket(family,
                        LinuxConstants.SOCK_STREAM | LinuxConstants.SOCK_NONBLOCK | LinuxConstants.SOCK_CLOEXEC,
                        LinuxConstants.IPPROTO_TCP),
                "socket(" + (family == LinuxConstants.AF_INET ? "AF_INET" : "AF_INET6") + ", SOCK_STREAM)");
    }

    static void setInt(int fd, int level, int name, int value, String operation) throws SyscallException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment v = arena.allocate(ValueLayout.JAVA_INT);
            v.set(ValueLayout.JAVA_INT, 0, value);
            Syscalls.check(Syscalls.setsockopt(fd, level, name, v, 4), operation);
        }
    }

    /**
     * {@code SO_BINDTODEVICE}: the socket only uses routes through {@code device}. A fresh socket needs
     * no privilege for it (Linux 5.7+); rebinding a bound one needs CAP_NET_RAW.
     */
    static void bindToDevice(int fd, String device) throws SyscallException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment name = arena.allocateFrom(device);
            int r = Syscalls.setsockopt(fd, LinuxConstants.SOL_SOCKET, LinuxConstants.SO_BINDTODEVICE, name,
                    (int) name.byteSize());
            if (r < 0) {
                Errno e = Errno.of(-r);
                throw new SyscallException("setsockopt(SO_BINDTODEVICE, " + device + ")", e,
                        e.equals(Errno.ENODEV) ? "there is no interface " + device + " in this network namespace"
                                : e.equals(Errno.EPERM) ? "rebinding a socket to another device needs CAP_NET_RAW" : null);
            }
        }
    }

    /** {@code getsockopt(SOL_SOCKET, SO_ERROR)}: the pending error of a non-blocking connect, as a positive errno. */
    static int soError(int fd) throws SyscallException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment v = arena.allocate(ValueLayout.JAVA_INT);
            MemorySegment len = arena.allocate(ValueLayout.JAVA_INT);
            len.set(ValueLayout.JAVA_INT, 0, 4);
            Syscalls.check(Syscalls.getsockopt(fd, LinuxConstants.SOL_SOCKET, LinuxConstants.SO_ERROR, v, len),
                    "getsockopt(SO_ERROR)");
            return v.get(ValueLayout.JAVA_INT, 0);
        }
    }

    static int bind(int fd, InetSocketAddress address) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment addr = arena.allocate(Structs.SOCKADDR_STORAGE_SIZE, 8);
            int len = SockAddr.write(addr, address);
            return Syscalls.bind(fd, addr, len);
        }
    }

    static int connect(int fd, InetSocketAddress address) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment addr = arena.allocate(Structs.SOCKADDR_STORAGE_SIZE, 8);
            int len = SockAddr.write(addr, address);
            return Syscalls.connect(fd, addr, len);
        }
    }

    /** Polls one fd; returns poll's result ({@code -errno} on failure). */
    static int pollOne(int fd, short events, int timeoutMillis) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment p = arena.allocate(Structs.POLLFD);
            p.set(ValueLayout.JAVA_INT, Structs.POLLFD_FD, fd);
            p.set(ValueLayout.JAVA_SHORT, Structs.POLLFD_EVENTS, events);
            return Syscalls.poll(p, 1, timeoutMillis);
        }
    }

    /** {@code 127.0.0.1:8080} or {@code [::1]:8080}, for messages. */
    static String describe(InetSocketAddress address) {
        return SockAddr.describe(address);
    }

    static SyscallException failure(String operation, int negErrno) {
        return new SyscallException(operation, Errno.of(-negErrno));
    }
}
