package dev.devmem.ffm.emulated;

import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;

/**
 * Where an emulated socket's packets come from, and what its non-devmem calls reach: a real kernel
 * TCP socket ({@link WireSource}) or a synthetic stream with no socket at all
 * ({@link SyntheticSource}). The emulated NIC's own behaviour (skbs, buffers, tokens, cmsgs) does not
 * depend on which.
 */
interface PacketSource {

    /** The real socket's fd, or -1 without one. */
    int fd();

    /** Whether recvmsg without {@code MSG_DONTWAIT} waits (a socket without {@code O_NONBLOCK}). */
    boolean blocking();

    /** Whether the stream has ended before anything more is read (a bounded synthetic stream). */
    boolean exhausted();

    /**
     * The NIC receives one packet: at most {@code capacity} bytes, the first {@code linearCap} of them
     * into {@code linear} at {@code linearAt}, the rest into {@code n} rx buffers {@code taken} of
     * {@code binding}, {@code fragSize} bytes each. Returns the bytes received, 0 at the end of the
     * stream, or {@code -errno} (EAGAIN: nothing yet).
     */
    long receive(EmulatedRxBinding binding, int[] taken, int n, int fragSize, MemorySegment linear, long linearAt,
                 int linearCap, long capacity);

    /** recvmsg of ordinary data (the socket's queue has no dmabuf): the real socket's answer, unchanged. */
    long receivePlain(MemorySegment msghdr, MemorySegment msg, int flags, long len, UserMsghdr user);

    /** recvmsg with {@code MSG_ERRQUEUE} or {@code MSG_OOB}, which never reach emulated skbs. */
    long receiveOther(MemorySegment msghdr, int flags);

    long sendmsg(MemorySegment msghdr, int flags);

    int setsockopt(int level, int name, MemorySegment value, int len);

    int getsockopt(int level, int name, MemorySegment value, MemorySegment len);

    int shutdown(int how);

    /** The fd to poll while not stalled on the pool, or -1 (a synthetic stream always has data). */
    int pollFd();

    /** {@code getsockname}/{@code getpeername}; {@code null} if the kernel cannot say. */
    InetSocketAddress address(boolean local);

    /** The devmem TX side of the real socket, or {@code null}. */
    EmulatedTx tx();

    void close();
}
