package dev.devmem.ffm.testing;

import dev.devmem.api.Errno;
import dev.devmem.api.SyscallException;
import dev.devmem.ffm.sys.LinuxConstants;
import dev.devmem.ffm.sys.SockAddr;
import dev.devmem.ffm.sys.Structs;
import dev.devmem.ffm.sys.Syscalls;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

/**
 * A hostile or careless TCP peer on a real kernel socket (blocking): it sends the pattern, and then
 * resets (SO_LINGER 0 and close, as port scanners and health checks do), half-closes, or stops
 * reading. Every fault is the kernel's own: nothing here is simulated.
 */
public final class FaultPeer implements AutoCloseable {
    /** {@code SO_LINGER} in asm-generic/socket.h. */
    private static final int SO_LINGER = 13;
    /** {@code SIOCOUTQ} (= TIOCOUTQ): bytes in the send queue, not yet acknowledged. */
    private static final long SIOCOUTQ = 0x5411;

    private final int fd;
    private final NetcatPattern pattern;
    private final InetSocketAddress local;
    private long sent;
    private boolean closed;

    private FaultPeer(int fd, NetcatPattern pattern) throws SyscallException {
        this.fd = fd;
        this.pattern = pattern;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment addr = a.allocate(Structs.SOCKADDR_STORAGE_SIZE, 8);
            MemorySegment len = a.allocate(ValueLayout.JAVA_INT);
            len.set(ValueLayout.JAVA_INT, 0, Structs.SOCKADDR_STORAGE_SIZE);
            Syscalls.check(Syscalls.getsockname(fd, addr, len), "getsockname");
            this.local = SockAddr.read(addr);
        }
    }

    /** Connects to {@code to} (blocking). {@code sndbuf} > 0 shrinks the send buffer first. */
    public static FaultPeer connect(InetSocketAddress to, NetcatPattern pattern, int sndbuf) throws SyscallException {
        int fd = Syscalls.check(Syscalls.socket(SockAddr.family(to), LinuxConstants.SOCK_STREAM
                | LinuxConstants.SOCK_CLOEXEC, 0), "socket");
        try (Arena a = Arena.ofConfined()) {
            if (sndbuf > 0) {
                setInt(fd, LinuxConstants.SOL_SOCKET, LinuxConstants.SO_SNDBUF, sndbuf);
            }
            MemorySegment addr = a.allocate(Structs.SOCKADDR_STORAGE_SIZE, 8);
            int n = SockAddr.write(addr, to);
            Syscalls.check(Syscalls.connect(fd, addr, n), "connect(" + SockAddr.describe(to) + ")");
            return new FaultPeer(fd, pattern);
        } catch (SyscallException | RuntimeException e) {
            Syscalls.closeQuietly(fd);
            throw e;
        }
    }

    public static FaultPeer connect(InetSocketAddress to, NetcatPattern pattern) throws SyscallException {
        return connect(to, pattern, 0);
    }

    /** The peer's own address: what the receiving side must report as its remote address. */
    public InetSocketAddress localAddress() {
        return local;
    }

    public int fd() {
        return fd;
    }

    /** Bytes of the pattern sent so far. */
    public long sent() {
        return sent;
    }

    /** Sends the next {@code bytes} bytes of the pattern (blocking). */
    public void send(long bytes) throws SyscallException {
        try (Arena a = Arena.ofConfined()) {
            int chunk = (int) Math.min(bytes, 256 << 10);
            MemorySegment buf = a.allocate(Math.max(1, chunk));
            long end = sent + bytes;
            while (sent < end) {
                int n = (int) Math.min(chunk, end - sent);
                pattern.fill(buf.asSlice(0, n), sent);
                long off = 0;
                while (off < n) {
                    long r = Syscalls.send(fd, buf.asSlice(off), n - off, LinuxConstants.MSG_NOSIGNAL);
                    if (r == -4) {
                        continue;
                    }
                    off += Syscalls.check(r, "send");
                }
                sent += n;
            }
        }
    }

    /**
     * Blocks until every byte sent has left the send queue and been acknowledged (SIOCOUTQ 0): then a
     * reset cannot discard any of it, and the receiving kernel holds all of it.
     */
    public void awaitAcknowledged() throws SyscallException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment n = a.allocate(ValueLayout.JAVA_INT);
            while (true) {
                Syscalls.check(Syscalls.ioctl(fd, SIOCOUTQ, n), "ioctl(SIOCOUTQ)");
                int unacknowledged = n.get(ValueLayout.JAVA_INT, 0);
                if (unacknowledged == 0) {
                    return;
                }
                if (System.nanoTime() > deadline) {
                    throw new AssertionError(unacknowledged + " bytes still unacknowledged: is the receiver reading?");
                }
                Thread.sleep(1); // a delayed ACK takes up to 40 ms
            }
        }
    }

    /** Runs {@code faults} on a thread of its own (the peer must act while the receiver reads). */
    public Acting act(Action faults) {
        return new Acting(this, faults);
    }

    /** What the peer does, in order, on its own thread. */
    @FunctionalInterface
    public interface Action {
        void run(FaultPeer peer) throws Exception;
    }

    /** A peer acting on its own thread; {@link #join()} rethrows what it failed with. */
    public static final class Acting {
        private final Thread thread;
        private volatile Throwable failure;

        private Acting(FaultPeer peer, Action faults) {
            thread = Thread.ofPlatform().daemon().name("fault-peer").start(() -> {
                try {
                    faults.run(peer);
                } catch (Throwable t) {
                    failure = t;
                }
            });
        }

        public void join() throws Exception {
            if (!thread.join(java.time.Duration.ofSeconds(30))) {
                thread.interrupt();
                throw new AssertionError("the peer is still acting");
            }
            if (failure instanceof Exception e) {
                throw e;
            }
            if (failure instanceof Error e) {
                throw e;
            }
        }
    }

    /** Resets the connection: SO_LINGER {on, 0} and close, so the kernel sends RST instead of FIN. */
    public void reset() throws SyscallException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment linger = a.allocate(8, 4);
            linger.set(ValueLayout.JAVA_INT, 0, 1);
            linger.set(ValueLayout.JAVA_INT, 4, 0);
            Syscalls.check(Syscalls.setsockopt(fd, LinuxConstants.SOL_SOCKET, SO_LINGER, linger, 8),
                    "setsockopt(SO_LINGER)");
        }
        close();
    }

    /** Half-closes: FIN, and the peer keeps reading. */
    public void shutdownOutput() throws SyscallException {
        Syscalls.check(Syscalls.shutdown(fd, LinuxConstants.SHUT_WR), "shutdown(SHUT_WR)");
    }

    /**
     * One read of up to {@code max} bytes within {@link #READ_WAIT_MILLIS}: the count, 0 at the end
     * of the stream, or {@code -errno}.
     */
    public long read(MemorySegment into) {
        return read(into, READ_WAIT_MILLIS);
    }

    /**
     * {@code recv(2)} once the socket is readable, waiting at most {@code waitMillis} for it (a hang
     * guard: a blocking recv in a foreign call cannot be interrupted by a test's timeout);
     * {@code -EAGAIN} when nothing, not even the end of the stream, came in that time.
     */
    public long read(MemorySegment into, int waitMillis) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment pfd = a.allocate(Structs.POLLFD);
            pfd.set(ValueLayout.JAVA_INT, Structs.POLLFD_FD, fd);
            pfd.set(ValueLayout.JAVA_SHORT, Structs.POLLFD_EVENTS, LinuxConstants.POLLIN);
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(waitMillis);
            int ready;
            do {
                long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
                ready = left <= 0 ? 0 : Syscalls.poll(pfd, 1, (int) left);
            } while (ready == -4);
            if (ready <= 0) {
                return -Errno.EAGAIN.number();
            }
        }
        long r;
        do {
            r = Syscalls.recv(fd, into, into.byteSize(), LinuxConstants.MSG_DONTWAIT);
        } while (r == -4);
        return r;
    }

    /** How long {@link #read(MemorySegment)} waits for data or the end of the stream. */
    public static final int READ_WAIT_MILLIS = 10_000;

    private static void setInt(int fd, int level, int name, int value) throws SyscallException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(ValueLayout.JAVA_INT);
            v.set(ValueLayout.JAVA_INT, 0, value);
            Syscalls.check(Syscalls.setsockopt(fd, level, name, v, 4), "setsockopt");
        }
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            Syscalls.close(fd);
        }
    }
}
