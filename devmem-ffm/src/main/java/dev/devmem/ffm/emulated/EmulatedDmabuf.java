package dev.devmem.ffm.emulated;

import dev.devmem.api.DevmemException;
import dev.devmem.api.DevmemUnsupportedException;
import dev.devmem.api.DmabufSource;
import dev.devmem.api.Errno;
import dev.devmem.api.NetlinkException;
import dev.devmem.api.SyscallException;
import dev.devmem.ffm.dmabuf.HostMemfd;
import dev.devmem.ffm.sys.Syscalls;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static dev.devmem.ffm.sys.LinuxConstants.*;

/**
 * The emulated NIC's device memory for one binding, RX or TX: host memory as a memfd (a new sealed
 * one for emulated and udmabuf sources, the caller's for {@code ofFd}), mapped into the process.
 * Released once: unmapped, and the memfd closed when this made it.
 */
final class EmulatedDmabuf {
    private static final long PAGE = 4096;

    final int fd;
    final boolean ownsFd;
    final long size;
    final MemorySegment memory;
    private final Arena arena;

    private EmulatedDmabuf(int fd, boolean ownsFd, long size, Arena arena, MemorySegment memory) {
        this.fd = fd;
        this.ownsFd = ownsFd;
        this.size = size;
        this.arena = arena;
        this.memory = memory;
    }

    /**
     * The memory of {@code source}.
     *
     * @param pageRound whether a new memfd's size is rounded up to a page (TX, as a dma-heap is)
     * @param minSize   the smallest size that holds one buffer (EINVAL below it, as the kernel's bind checks)
     * @param what      {@code "receives into"} or {@code "sends from"}, for the refusal of a device source
     * @throws DevmemUnsupportedException a source that is not host memory (dma-heap, CUDA)
     * @throws MapFailure                 the fd could not be mapped (nothing is left open)
     */
    static EmulatedDmabuf open(DmabufSource source, boolean pageRound, long minSize, String operation, String what)
            throws DevmemException, MapFailure {
        int fd;
        boolean ownsFd;
        long size;
        switch (source) {
            case DmabufSource.Emulated e -> {
                size = pageRound ? (e.size() + PAGE - 1) & -PAGE : e.size();
                fd = HostMemfd.create("devmem-emulated-dmabuf", size);
                ownsFd = true;
            }
            case DmabufSource.Udmabuf u -> { // udmabuf is a sealed memfd: the same thing
                size = pageRound ? (u.size() + PAGE - 1) & -PAGE : u.size();
                fd = HostMemfd.create("devmem-emulated-dmabuf", size);
                ownsFd = true;
            }
            case DmabufSource.Fd f -> {
                size = f.size();
                fd = f.fd();
                ownsFd = false;
            }
            default -> throw new DevmemUnsupportedException(operation.replace("netdev ", "emulated ") + " of " + source, null,
                    "the emulated NIC " + what + " host memory only (emulated, udmabuf or a memfd fd), not " + source);
        }
        if (size < minSize) {
            if (ownsFd) {
                Syscalls.closeQuietly(fd);
            }
            throw new NetlinkException(operation, Errno.EINVAL, null, null, null, null,
                    "dmabuf of " + size + " bytes holds no rx buffer of " + minSize + " bytes");
        }
        Arena arena = Arena.ofShared();
        try {
            MemorySegment raw = Syscalls.mmap(size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
            long length = size;
            return new EmulatedDmabuf(fd, ownsFd, size, arena, raw.reinterpret(size, arena,
                    seg -> Syscalls.munmap(seg, length)));
        } catch (SyscallException e) {
            release(arena, fd, ownsFd);
            throw new MapFailure(fd, e);
        }
    }

    /** The dmabuf's fd could not be mapped. */
    static final class MapFailure extends Exception {
        final int fd;
        final SyscallException cause;

        MapFailure(int fd, SyscallException cause) {
            super(cause);
            this.fd = fd;
            this.cause = cause;
        }

        String describe() {
            return "fd " + fd + " cannot be mapped: " + cause.errno();
        }
    }

    /** Unmaps (every view becomes invalid) and closes the memfd if this made it. Call once. */
    void release() {
        release(arena, fd, ownsFd);
    }

    /**
     * Closes the arena, which unmaps the memory and invalidates every view, then the memfd when the
     * binding made it. The arena refuses to close while another thread is inside one access to a
     * view; nothing holds a buffer any more, so that access is the last and short, and the close is
     * retried rather than the memory leaked.
     */
    private static void release(Arena arena, int fd, boolean ownsFd) {
        for (int attempt = 0; ; attempt++) {
            try {
                arena.close();
                break;
            } catch (IllegalStateException busy) {
                if (attempt > 10_000) {
                    throw busy;
                }
                Thread.onSpinWait();
            }
        }
        if (ownsFd) {
            Syscalls.closeQuietly(fd);
        }
    }
}
