package dev.devmem.ffm.rx;

import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;

/**
 * The system-call surface of one TCP socket as the devmem code sees it: the kernel's own socket
 * ({@code LinuxSocketEndpoint}) or a socket of the emulated devmem NIC. Implementations are
 * byte-exact with Linux 6.18: {@link #recvmsg} fills the iov and the control buffer exactly as
 * {@code tcp_recvmsg(MSG_SOCK_DEVMEM)} does, and {@code SO_DEVMEM_DONTNEED} has the kernel's
 * limits, return value and errors. That is what lets one parser and one release path serve both.
 *
 * <p>All calls return what the kernel returns, failures as {@code -errno}; none throws for an errno.
 * Used by one thread at a time.
 */
public interface SocketEndpoint extends AutoCloseable {

    /** {@code recvmsg(2)} on a {@code struct msghdr} in native memory. */
    long recvmsg(MemorySegment msghdr, int flags);

    /** {@code sendmsg(2)}. */
    long sendmsg(MemorySegment msghdr, int flags);

    /** {@code setsockopt(2)}; {@code SOL_SOCKET/SO_DEVMEM_DONTNEED} returns the count of frags freed. */
    int setsockopt(int level, int name, MemorySegment value, int len);

    /** {@code getsockopt(2)}; {@code len} is a 4-byte in/out socklen_t. */
    int getsockopt(int level, int name, MemorySegment value, MemorySegment len);

    /** {@code shutdown(2)}. */
    int shutdown(int how);

    /**
     * The fd to {@code poll(2)} for progress, or {@code -1} when only a wake-up can bring progress.
     * It may change between calls: an emulated socket whose buffer pool is empty answers its rx
     * queue's eventfd, which becomes readable when any socket returns buffers to that pool. Re-read
     * after every {@link #recvmsg} that returned {@code -EAGAIN}.
     */
    int pollFd();

    /** The events to poll {@link #pollFd()} for. */
    short pollEvents();

    InetSocketAddress localAddress();

    InetSocketAddress remoteAddress();

    /** Closes the socket; the kernel frees every outstanding token with it. Idempotent. */
    @Override
    void close();
}
