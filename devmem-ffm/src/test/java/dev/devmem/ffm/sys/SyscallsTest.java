package dev.devmem.ffm.sys;

import dev.devmem.api.Errno;
import dev.devmem.api.SyscallException;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static dev.devmem.ffm.sys.LinuxConstants.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SyscallsTest {

    @Test
    void errnoIsCapturedPerCall() {
        assertThat(Syscalls.close(987_654)).isEqualTo(-Errno.EBADF.number());
        assertThat(Syscalls.socket(12345, SOCK_STREAM, 0)).isEqualTo(-97); // EAFNOSUPPORT
        assertThatThrownBy(() -> Syscalls.check(Syscalls.close(987_654), "close"))
                .isInstanceOf(SyscallException.class)
                .hasMessage("close failed: EBADF (9, Bad file descriptor)");
    }

    @Test
    void eventfdCountsWrites() throws Exception {
        int efd = Syscalls.check(Syscalls.eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), "eventfd");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment v = arena.allocate(8);
            assertThat(Syscalls.read(efd, v, 8)).isEqualTo(-Errno.EAGAIN.number());
            v.set(ValueLayout.JAVA_LONG, 0, 3);
            assertThat(Syscalls.write(efd, v, 8)).isEqualTo(8);
            assertThat(Syscalls.write(efd, v, 8)).isEqualTo(8);
            v.set(ValueLayout.JAVA_LONG, 0, 0);
            assertThat(Syscalls.read(efd, v, 8)).isEqualTo(8);
            assertThat(v.get(ValueLayout.JAVA_LONG, 0)).isEqualTo(6);
        } finally {
            Syscalls.close(efd);
        }
    }

    @Test
    void memfdMapsSharedMemoryAndSeals() throws Exception {
        int fd = Syscalls.check(Syscalls.memfdCreate("devmem-test", MFD_CLOEXEC | MFD_ALLOW_SEALING), "memfd_create");
        try {
            Syscalls.check(Syscalls.ftruncate(fd, 1 << 16), "ftruncate");
            Syscalls.check(Syscalls.fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK), "fcntl");
            assertThat(Syscalls.fcntl(fd, F_GET_SEALS, 0)).isEqualTo(F_SEAL_SHRINK);
            assertThat(Syscalls.ftruncate(fd, 4096)).isEqualTo(-Errno.of(1).number());
            MemorySegment a = Syscalls.mmap(1 << 16, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
            MemorySegment b = Syscalls.mmap(1 << 16, PROT_READ, MAP_SHARED, fd, 0);
            a.set(ValueLayout.JAVA_INT, 4096, 0xCAFE);
            assertThat(b.get(ValueLayout.JAVA_INT, 4096)).isEqualTo(0xCAFE);
            assertThat(Syscalls.munmap(a, 1 << 16)).isZero();
            assertThat(Syscalls.munmap(b, 1 << 16)).isZero();
        } finally {
            Syscalls.close(fd);
        }
    }

    @Test
    void mmapFailureNamesTheErrno() {
        assertThatThrownBy(() -> Syscalls.mmap(4096, PROT_READ, MAP_SHARED, 987_654, 0))
                .isInstanceOf(SyscallException.class)
                .extracting(e -> ((SyscallException) e).errno())
                .isEqualTo(Errno.EBADF);
    }
}
