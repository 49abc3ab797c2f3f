package dev.devmem.ffm.emulated;

import dev.devmem.api.DevmemException;
import dev.devmem.api.Errno;
import dev.devmem.api.SyscallException;
import dev.devmem.ffm.sys.Structs;
import dev.devmem.ffm.sys.Syscalls;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetSocketAddress;

import static dev.devmem.ffm.sys.LinuxConstants.*;

/**
 * Packets from a real, connected kernel TCP socket: each is one non-blocking {@code recvmsg} of it,
 * with no copy, straight into the rx buffers (and the linear area of a failed header split). Every
 * other call goes to the socket itself, so its answers are the kernel's.
 */
final class WireSource implements PacketSource {
    private final int fd;
    private final boolean blocking;
    private final EmulatedTx tx;
    private final MemorySegment readMsg;
    private final MemorySegment readIov;
    private volatile boolean closed;

    WireSource(EmulatedNic nic, int fd, Arena arena) throws DevmemException {
        int fl = Syscalls.fcntl(fd, F_GETFL, 0);
        if (fl < 0) {
            throw new SyscallException("fcntl(F_GETFL) of fd " + fd, Errno.of(-fl));
        }
        this.fd = fd;
        this.blocking = (fl & O_NONBLOCK) == 0;
        this.readMsg = arena.allocate(Structs.MSGHDR);
        this.readIov = arena.allocate(Structs.IOVEC.byteSize() * (1 + EmulatedNicConfig.MAX_SKB_FRAGS), 8);
        readMsg.set(ValueLayout.ADDRESS, Structs.MSGHDR_IOV, readIov);
        this.tx = new EmulatedTx(nic, fd);
    }

    @Override
    public int fd() {
        return fd;
    }

    @Override
    public boolean blocking() {
        return blocking;
    }

    @Override
    public boolean exhausted() {
        return false;
    }

    @Override
    public long receive(EmulatedRxBinding b, int[] taken, int n, int fragSize, MemorySegment linear, long linearAt,
                        int linearCap, long capacity) {
        int iovs = 0;
        long left = capacity;
        if (linearCap > 0) {
            setIov(iovs++, linear.address() + linearAt, linearCap);
            left -= linearCap;
        }
        for (int i = 0; i < n && left > 0; i++) {
            long l = Math.min(fragSize, left);
            setIov(iovs++, b.memory().address() + b.bufferOffset(taken[i]), l);
            left -= l;
        }
        readMsg.set(ValueLayout.JAVA_LONG, Structs.MSGHDR_IOVLEN, iovs);
        return Syscalls.recvmsg(fd, readMsg, MSG_DONTWAIT);
    }

    private void setIov(int i, long base, long len) {
        long o = i * Structs.IOVEC.byteSize();
        readIov.set(ValueLayout.JAVA_LONG, o + Structs.IOVEC_BASE, base);
        readIov.set(ValueLayout.JAVA_LONG, o + Structs.IOVEC_LEN, len);
    }

    @Override
    public long receivePlain(MemorySegment msghdr, MemorySegment msg, int flags, long len, UserMsghdr user) {
        return Syscalls.recvmsg(fd, msghdr, flags);
    }

    @Override
    public long receiveOther(MemorySegment msghdr, int flags) {
        long r = Syscalls.recvmsg(fd, msghdr, flags);
        if (r >= 0 && (flags & MSG_ERRQUEUE) != 0) {
            tx.afterErrqueue(msghdr);
        }
        return r;
    }

    /** Devmem TX as the kernel does it, see {@link EmulatedTx}; a send naming no TX binding goes to the socket. */
    @Override
    public long sendmsg(MemorySegment msghdr, int flags) {
        return tx.sendmsg(msghdr, flags);
    }

    @Override
    public int setsockopt(int level, int name, MemorySegment value, int len) {
        int r = Syscalls.setsockopt(fd, level, name, value, len);
        tx.afterSetsockopt(level, name, r);
        return r;
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
    public InetSocketAddress address(boolean local) {
        if (closed) {
            return null;
        }
        try {
            return EmulatedNic.address(fd, local);
        } catch (SyscallException e) {
            return null; // e.g. getpeername after a reset: ENOTCONN
        }
    }

    @Override
    public EmulatedTx tx() {
        return tx;
    }

    @Override
    public void close() {
        closed = true;
        Syscalls.closeQuietly(fd);
    }
}
