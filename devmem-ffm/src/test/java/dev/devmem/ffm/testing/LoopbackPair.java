package dev.devmem.ffm.testing;

import dev.devmem.api.SyscallException;
import dev.devmem.ffm.linux.LinuxSocketEndpoint;
import dev.devmem.ffm.sys.LinuxConstants;
import dev.devmem.ffm.sys.SockAddr;
import dev.devmem.ffm.sys.Structs;
import dev.devmem.ffm.sys.Syscalls;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetAddress;
import java.net.InetSocketAddress;

/**
 * A connected pair of real kernel TCP sockets over loopback: the accepted side as a non-blocking
 * {@link LinuxSocketEndpoint} (what the devmem engine reads), the connecting side as a plain
 * blocking fd the test writes into (the peer).
 */
public final class LoopbackPair implements AutoCloseable {
    private final LinuxSocketEndpoint receiver;
    private final int peerFd;
    private boolean closed;

    private LoopbackPair(LinuxSocketEndpoint receiver, int peerFd) {
        this.receiver = receiver;
        this.peerFd = peerFd;
    }

    /** A pair over 127.0.0.1. */
    public static LoopbackPair open() throws Exception {
        return open(InetAddress.getByName("127.0.0.1"));
    }

    /** A pair over {@code ::1}. */
    public static LoopbackPair openV6() throws Exception {
        return open(InetAddress.getByName("::1"));
    }

    public static LoopbackPair open(InetAddress loopback) throws Exception {
        InetSocketAddress any = new InetSocketAddress(loopback, 0);
        int family = SockAddr.family(any);
        int lfd = Syscalls.check(Syscalls.socket(family, LinuxConstants.SOCK_STREAM | LinuxConstants.SOCK_CLOEXEC, 0), "socket");
        int cfd = -1;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment addr = a.allocate(Structs.SOCKADDR_STORAGE_SIZE, 8);
            MemorySegment len = a.allocate(ValueLayout.JAVA_INT);
            int n = SockAddr.write(addr, any);
            Syscalls.check(Syscalls.bind(lfd, addr, n), "bind");
            Syscalls.check(Syscalls.listen(lfd, 1), "listen");
            len.set(ValueLayout.JAVA_INT, 0, Structs.SOCKADDR_STORAGE_SIZE);
            Syscalls.check(Syscalls.getsockname(lfd, addr, len), "getsockname");
            cfd = Syscalls.check(Syscalls.socket(family, LinuxConstants.SOCK_STREAM | LinuxConstants.SOCK_CLOEXEC, 0), "socket");
            Syscalls.check(Syscalls.connect(cfd, addr, len.get(ValueLayout.JAVA_INT, 0)), "connect");
            int afd = Syscalls.check(Syscalls.accept4(lfd, MemorySegment.NULL, MemorySegment.NULL,
                    LinuxConstants.SOCK_NONBLOCK | LinuxConstants.SOCK_CLOEXEC), "accept4");
            return new LoopbackPair(new LinuxSocketEndpoint(afd), cfd);
        } catch (SyscallException | RuntimeException e) {
            Syscalls.closeQuietly(cfd);
            throw e;
        } finally {
            Syscalls.close(lfd);
        }
    }

    /**
     * The accepted, non-blocking side. Closing the pair closes it; it may be closed earlier (its
     * close is idempotent), e.g. by a devmem socket that took it over.
     */
    public LinuxSocketEndpoint receiver() {
        return receiver;
    }

    /** The peer's blocking fd. */
    public int peerFd() {
        return peerFd;
    }

    /** Writes all of {@code data} from the peer (blocking). */
    public void peerSend(byte[] data) throws SyscallException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(Math.max(1, data.length));
            MemorySegment.copy(data, 0, buf, ValueLayout.JAVA_BYTE, 0, data.length);
            peerSend(buf, data.length);
        }
    }

    /** Writes the first {@code length} bytes of {@code buf} (native) from the peer (blocking). */
    public void peerSend(MemorySegment buf, long length) throws SyscallException {
        long done = 0;
        while (done < length) {
            long r = Syscalls.send(peerFd, buf.asSlice(done), length - done, LinuxConstants.MSG_NOSIGNAL);
            if (r == -4) {
                continue;
            }
            done += Syscalls.check(r, "send");
        }
    }

    /** Half-closes the peer: the receiver then sees the end of the stream. */
    public void peerShutdown() throws SyscallException {
        Syscalls.check(Syscalls.shutdown(peerFd, LinuxConstants.SHUT_WR), "shutdown");
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            receiver.close();
            Syscalls.close(peerFd);
        }
    }
}
