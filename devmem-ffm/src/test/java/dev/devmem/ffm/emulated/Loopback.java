package dev.devmem.ffm.emulated;

import dev.devmem.ffm.sys.SockAddr;
import dev.devmem.ffm.sys.Structs;
import dev.devmem.ffm.sys.Syscalls;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetAddress;
import java.net.InetSocketAddress;

import static dev.devmem.ffm.sys.LinuxConstants.*;

/** A connected loopback TCP pair of real kernel sockets: a blocking sender and a non-blocking receiver fd. */
final class Loopback implements AutoCloseable {
    final int sender;
    final int receiver;
    private boolean receiverTaken;
    private boolean senderClosed;

    private Loopback(int sender, int receiver) {
        this.sender = sender;
        this.receiver = receiver;
    }

    static Loopback open() throws Exception {
        return open(0, 0);
    }

    /** {@code rcvbuf}/{@code sndbuf} > 0 shrink the receiver's and sender's kernel buffers. */
    static Loopback open(int rcvbuf, int sndbuf) throws Exception {
        int l = Syscalls.check(Syscalls.socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), "socket");
        try (Arena a = Arena.ofConfined()) {
            MemorySegment sa = a.allocate(Structs.SOCKADDR_STORAGE_SIZE);
            int len = SockAddr.write(sa, new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            Syscalls.check(Syscalls.bind(l, sa, len), "bind");
            Syscalls.check(Syscalls.listen(l, 4), "listen");
            InetSocketAddress bound = EmulatedNic.address(l, true);
            int s = Syscalls.check(Syscalls.socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), "socket");
            if (sndbuf > 0) {
                setInt(s, SOL_SOCKET, SO_SNDBUF, sndbuf);
            }
            len = SockAddr.write(sa, bound);
            Syscalls.check(Syscalls.connect(s, sa, len), "connect");
            int r = Syscalls.check(Syscalls.accept4(l, MemorySegment.NULL, MemorySegment.NULL,
                    SOCK_NONBLOCK | SOCK_CLOEXEC), "accept4");
            if (rcvbuf > 0) {
                setInt(r, SOL_SOCKET, SO_RCVBUF, rcvbuf);
            }
            return new Loopback(s, r);
        } finally {
            Syscalls.close(l);
        }
    }

    static void setInt(int fd, int level, int name, int value) throws Exception {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(ValueLayout.JAVA_INT);
            v.set(ValueLayout.JAVA_INT, 0, value);
            Syscalls.check(Syscalls.setsockopt(fd, level, name, v, 4), "setsockopt");
        }
    }

    /** The receiver fd, now owned by whoever wraps it (an endpoint closes it). */
    int takeReceiver() {
        receiverTaken = true;
        return receiver;
    }

    /** Sends all of {@code data} (blocking). */
    void send(byte[] data) throws Exception {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocateFrom(ValueLayout.JAVA_BYTE, data);
            long off = 0;
            while (off < data.length) {
                long n = Syscalls.check(Syscalls.send(sender, buf.asSlice(off), data.length - off, MSG_NOSIGNAL), "send");
                off += n;
            }
        }
    }

    /** Blocks until the receiver's kernel socket holds at least {@code bytes} unread bytes (SIOCINQ). */
    void awaitQueued(int bytes) throws Exception {
        awaitQueued(receiver, bytes);
    }

    static void awaitQueued(int fd, int bytes) throws Exception {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment n = a.allocate(ValueLayout.JAVA_INT);
            MemorySegment pfd = a.allocate(Structs.POLLFD);
            while (true) {
                Syscalls.check(Syscalls.ioctl(fd, 0x541B /* SIOCINQ */, n), "ioctl(SIOCINQ)");
                if (n.get(ValueLayout.JAVA_INT, 0) >= bytes) {
                    return;
                }
                pfd.set(ValueLayout.JAVA_INT, 0, fd);
                pfd.set(ValueLayout.JAVA_SHORT, 4, POLLIN);
                Syscalls.poll(pfd, 1, 10);
            }
        }
    }

    /** Blocks until {@code fd} polls readable (data, EOF or an error). */
    static void awaitReadable(int fd) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment pfd = a.allocate(Structs.POLLFD);
            pfd.set(ValueLayout.JAVA_INT, 0, fd);
            pfd.set(ValueLayout.JAVA_SHORT, 4, POLLIN);
            while (Syscalls.poll(pfd, 1, 1000) == 0) {
                Thread.onSpinWait();
            }
        }
    }

    /** Resets the connection from the sender: SO_LINGER {on, 0} and close, so the kernel sends RST, not FIN. */
    void resetSender() throws Exception {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment linger = a.allocate(8, 4);
            linger.set(ValueLayout.JAVA_INT, 0, 1);
            linger.set(ValueLayout.JAVA_INT, 4, 0);
            Syscalls.check(Syscalls.setsockopt(sender, SOL_SOCKET, 13 /* SO_LINGER */, linger, 8), "setsockopt(SO_LINGER)");
        }
        senderClosed = true;
        Syscalls.close(sender);
    }

    void shutdownSender() {
        Syscalls.shutdown(sender, SHUT_WR);
    }

    @Override
    public void close() {
        if (!senderClosed) {
            Syscalls.close(sender);
        }
        if (!receiverTaken) {
            Syscalls.close(receiver);
        }
    }
}
