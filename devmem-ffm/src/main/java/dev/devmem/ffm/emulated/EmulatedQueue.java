package dev.devmem.ffm.emulated;

import dev.devmem.api.SyscallException;
import dev.devmem.ffm.sys.LinuxConstants;
import dev.devmem.ffm.sys.Syscalls;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * One emulated rx queue: its memory provider (the bound dmabuf, or none) and an eventfd that is
 * signalled when the provider's buffer pool gets buffers back after a reader found it empty, so an
 * I/O loop parked on a starved socket wakes up.
 */
final class EmulatedQueue {
    final int id;
    final int eventFd;
    private final MemorySegment scratch = Arena.ofAuto().allocate(8);
    private volatile EmulatedRxBinding binding;

    EmulatedQueue(int id) throws SyscallException {
        this.id = id;
        this.eventFd = Syscalls.check(Syscalls.eventfd(0, LinuxConstants.EFD_CLOEXEC | LinuxConstants.EFD_NONBLOCK),
                "eventfd");
    }

    EmulatedRxBinding binding() {
        return binding;
    }

    void binding(EmulatedRxBinding b) {
        binding = b;
    }

    /** Makes the eventfd readable. Called with the pool's lock held, so the scratch word is not shared. */
    void signal() {
        scratch.set(ValueLayout.JAVA_LONG, 0, 1L);
        Syscalls.write(eventFd, scratch, 8);
    }

    /** Clears the eventfd. Called with the pool's lock held. */
    void drain() {
        Syscalls.read(eventFd, scratch, 8);
    }

    void close() {
        Syscalls.closeQuietly(eventFd);
    }
}
