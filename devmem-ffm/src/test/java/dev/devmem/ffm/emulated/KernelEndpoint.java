package dev.devmem.ffm.emulated;

import dev.devmem.ffm.rx.SocketEndpoint;
import dev.devmem.ffm.sys.Syscalls;

import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;

/**
 * The real kernel's socket behind the {@link SocketEndpoint} seam, for contract tests that hold the
 * emulator to the kernel's answers. (The engine's LinuxSocketEndpoint replaces it once merged.)
 */
final class KernelEndpoint implements SocketEndpoint {
    private final int fd;

    KernelEndpoint(int fd) {
        this.fd = fd;
    }

    @Override
    public long recvmsg(MemorySegment msghdr, int flags) {
        return Syscalls.recvmsg(fd, msghdr, flags);
    }

    @Override
    public long sendmsg(MemorySegment msghdr, int flags) {
        return Syscalls.sendmsg(fd, msghdr, flags);
    }

    @Override
    public int setsockopt(int level, int name, MemorySegment value, int len) {
        return Syscalls.setsockopt(fd, level, name, value, len);
    }

    @Override
    public int getsockopt(int level, int name, MemorySegment value, MemorySegment len) {
        return Syscalls.getsockopt(fd, level, name, value, len);
    }

    @Override
    public int shutdown(int how) {
        return Syscalls.shutdown(fd, how);
    }

    @Override
    public int pollFd() {
        return fd;
    }

    @Override
    public short pollEvents() {
        return 1;
    }

    @Override
    public InetSocketAddress localAddress() {
        try {
            return EmulatedNic.address(fd, true);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public InetSocketAddress remoteAddress() {
        try {
            return EmulatedNic.address(fd, false);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        Syscalls.close(fd);
    }
}
