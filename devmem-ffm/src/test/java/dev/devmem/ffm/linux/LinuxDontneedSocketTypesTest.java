package dev.devmem.ffm.linux;

import dev.devmem.api.Errno;
import dev.devmem.ffm.sys.LinuxConstants;
import dev.devmem.ffm.sys.Structs;
import dev.devmem.ffm.sys.Syscalls;
import dev.devmem.ffm.testing.LoopbackPair;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static dev.devmem.ffm.sys.LinuxConstants.AF_INET;
import static dev.devmem.ffm.sys.LinuxConstants.AF_INET6;
import static dev.devmem.ffm.sys.LinuxConstants.AF_UNIX;
import static dev.devmem.ffm.sys.LinuxConstants.SOCK_CLOEXEC;
import static dev.devmem.ffm.sys.LinuxConstants.SOCK_DGRAM;
import static dev.devmem.ffm.sys.LinuxConstants.SOCK_STREAM;
import static dev.devmem.ffm.sys.LinuxConstants.SOL_SOCKET;
import static dev.devmem.ffm.sys.LinuxConstants.SO_DEVMEM_DONTNEED;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Kernel-only answers of {@code SO_DEVMEM_DONTNEED} that the emulated NIC has no reason to model:
 * which socket types it accepts at all, and what a closed endpoint answers.
 */
class LinuxDontneedSocketTypesTest {

    private static int dontneedOnFreshSocket(int domain, int type, int optlen) throws Exception {
        int fd = Syscalls.check(Syscalls.socket(domain, type | SOCK_CLOEXEC, 0), "socket");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment t = arena.allocate(Structs.DMABUF_TOKEN);
            t.set(ValueLayout.JAVA_INT, Structs.DMABUF_TOKEN_START, 1);
            t.set(ValueLayout.JAVA_INT, Structs.DMABUF_TOKEN_COUNT, 1);
            return Syscalls.setsockopt(fd, SOL_SOCKET, SO_DEVMEM_DONTNEED, t, optlen);
        } finally {
            Syscalls.close(fd);
        }
    }

    @Test
    void udpIsEbadfEvenWithAnOptlenTcpWouldRejectDifferently() throws Exception {
        assertThat(dontneedOnFreshSocket(AF_INET, SOCK_DGRAM, 8)).isEqualTo(-Errno.EBADF.number());
        // The TCP check comes before the length check: len 4 on UDP is EBADF, not EINVAL.
        assertThat(dontneedOnFreshSocket(AF_INET, SOCK_DGRAM, 4)).isEqualTo(-Errno.EBADF.number());
    }

    @Test
    void unixStreamIsEbadf() throws Exception {
        assertThat(dontneedOnFreshSocket(AF_UNIX, SOCK_STREAM, 8)).isEqualTo(-Errno.EBADF.number());
    }

    @Test
    void freshUnconnectedTcpSocketsOfBothFamiliesAnswerZero() throws Exception {
        assertThat(dontneedOnFreshSocket(AF_INET, SOCK_STREAM, 8)).isZero();
        assertThat(dontneedOnFreshSocket(AF_INET6, SOCK_STREAM, 8)).isZero();
    }

    @Test
    void aListeningTcpSocketAnswersZero() throws Exception {
        try (dev.devmem.api.spi.DevmemListener l = new LinuxBackend().listen(
                new java.net.InetSocketAddress(java.net.InetAddress.getByName("127.0.0.1"), 0), 1);
             Arena arena = Arena.ofConfined()) {
            MemorySegment t = arena.allocate(Structs.DMABUF_TOKEN);
            t.set(ValueLayout.JAVA_INT, Structs.DMABUF_TOKEN_START, 1);
            t.set(ValueLayout.JAVA_INT, Structs.DMABUF_TOKEN_COUNT, 1000);
            int fd = ((dev.devmem.ffm.rx.PollSource) l).pollFd();
            assertThat(Syscalls.setsockopt(fd, SOL_SOCKET, SO_DEVMEM_DONTNEED, t, 8)).isZero();
        }
    }

    @Test
    void aClosedEndpointAnswersEbadfWithoutReachingTheKernel() throws Exception {
        try (LoopbackPair pair = LoopbackPair.open(); Arena arena = Arena.ofConfined()) {
            LinuxSocketEndpoint ep = pair.receiver();
            int fd = ep.fd();
            ep.close();
            ep.close();
            assertThat(ep.fd()).isEqualTo(-1);
            assertThat(ep.pollFd()).isEqualTo(-1);
            MemorySegment t = arena.allocate(8);
            assertThat(ep.setsockopt(SOL_SOCKET, SO_DEVMEM_DONTNEED, t, 8)).isEqualTo(-Errno.EBADF.number());
            assertThat(ep.recvmsg(arena.allocate(Structs.MSGHDR), 0)).isEqualTo(-Errno.EBADF.number());
            assertThat(ep.shutdown(LinuxConstants.SHUT_WR)).isEqualTo(-Errno.EBADF.number());
            // The fd really was closed once: the kernel no longer knows it.
            assertThat(Syscalls.close(fd)).isEqualTo(-Errno.EBADF.number());
        }
    }
}
