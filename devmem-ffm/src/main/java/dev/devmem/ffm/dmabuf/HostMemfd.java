package dev.devmem.ffm.dmabuf;

import dev.devmem.api.Errno;
import dev.devmem.api.SyscallException;
import dev.devmem.ffm.sys.Syscalls;

import static dev.devmem.ffm.sys.LinuxConstants.F_ADD_SEALS;
import static dev.devmem.ffm.sys.LinuxConstants.F_SEAL_SHRINK;
import static dev.devmem.ffm.sys.LinuxConstants.MFD_ALLOW_SEALING;
import static dev.devmem.ffm.sys.LinuxConstants.MFD_CLOEXEC;

/**
 * Host memory that can become a dmabuf: a memfd of a fixed size sealed against shrinking, the form
 * {@code /dev/udmabuf} requires (it refuses F_SEAL_WRITE). The udmabuf exporter wraps it; the emulated
 * devmem NIC uses it as its "device memory" directly. One allocator for both, so they cannot drift.
 */
public final class HostMemfd {
    private HostMemfd() {
    }

    /** A new close-on-exec memfd of {@code size} bytes, sealed with F_SEAL_SHRINK. The caller owns the fd. */
    public static int create(String name, long size) throws SyscallException {
        int fd = Syscalls.check(Syscalls.memfdCreate(name, MFD_CLOEXEC | MFD_ALLOW_SEALING), "memfd_create");
        try {
            Syscalls.check(Syscalls.ftruncate(fd, size), "ftruncate(memfd, " + size + ")");
            Syscalls.check(Syscalls.fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK), "fcntl(F_ADD_SEALS, F_SEAL_SHRINK)");
            return fd;
        } catch (SyscallException e) {
            Syscalls.closeQuietly(fd);
            throw e;
        }
    }
}
