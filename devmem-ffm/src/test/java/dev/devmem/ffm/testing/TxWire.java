package dev.devmem.ffm.testing;

import dev.devmem.api.SyscallException;
import dev.devmem.ffm.sys.LinuxConstants;
import dev.devmem.ffm.sys.SockAddr;
import dev.devmem.ffm.sys.Structs;
import dev.devmem.ffm.sys.Syscalls;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetAddress;
import java.net.InetSocketAddress;

import static dev.devmem.ffm.sys.LinuxConstants.*;

/**
 * A loopback TCP connection for send-side tests: the connecting socket is the sender (non-blocking,
 * handed to whatever drives it: a {@code LinuxSocketEndpoint} or an emulated NIC), the accepted one
 * is a blocking reader the test drains (or does not, to let the sender's buffers fill).
 *
 * <p>Families: {@link #v4()}, {@link #v6()}, and {@link #v4Mapped()} (an AF_INET6 sender talking to
 * {@code ::ffff:127.0.0.1}), which the kernel treats as AF_INET6 for its error queue.
 */
public final class TxWire implements AutoCloseable {
    private final int sender;
    private final int reader;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment scratch = arena.allocate(1 << 20, 4096);
    private static final int EINTR = dev.devmem.api.Errno.EINTR.number();
    private boolean senderTaken;
    private boolean readerClosed;
    private boolean closed;

    private TxWire(int sender, int reader) {
        this.sender = sender;
        this.reader = reader;
    }

    public static TxWire v4() throws Exception {
        return open(InetAddress.getByName("127.0.0.1"), InetAddress.getByName("127.0.0.1"), 0, 0);
    }

    public static TxWire v6() throws Exception {
        return open(InetAddress.getByName("::1"), InetAddress.getByName("::1"), 0, 0);
    }

    /** An AF_INET6 sender connected to {@code ::ffff:127.0.0.1} (Java would turn that address into an Inet4Address). */
    public static TxWire v4Mapped() throws Exception {
        return open(InetAddress.getByName("::"), null, 0, 0);
    }

    /**
     * @param listenOn  the listener's address (its family is the reader's)
     * @param connectTo the address the sender connects to (its family is the sender's); null: an
     *                  AF_INET6 sender to the v4-mapped {@code ::ffff:127.0.0.1}
     * @param sndbuf    the sender's SO_SNDBUF, or 0 for the default
     * @param rcvbuf    the reader's SO_RCVBUF, or 0 for the default
     */
    public static TxWire open(InetAddress listenOn, InetAddress connectTo, int sndbuf, int rcvbuf) throws Exception {
        InetSocketAddress any = new InetSocketAddress(listenOn, 0);
        int l = Syscalls.check(Syscalls.socket(SockAddr.family(any), SOCK_STREAM | SOCK_CLOEXEC, 0), "socket");
        int s = -1;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment sa = a.allocate(Structs.SOCKADDR_STORAGE_SIZE, 8);
            MemorySegment len = a.allocate(ValueLayout.JAVA_INT);
            if (rcvbuf > 0) {
                setInt(l, SOL_SOCKET, SO_RCVBUF, rcvbuf); // inherited by the accepted socket, before the handshake
            }
            Syscalls.check(Syscalls.bind(l, sa, SockAddr.write(sa, any)), "bind");
            Syscalls.check(Syscalls.listen(l, 1), "listen");
            len.set(ValueLayout.JAVA_INT, 0, Structs.SOCKADDR_STORAGE_SIZE);
            Syscalls.check(Syscalls.getsockname(l, sa, len), "getsockname");
            int port = SockAddr.read(sa).getPort();
            int targetLen;
            int family;
            if (connectTo == null) {
                sa.fill((byte) 0);
                sa.set(ValueLayout.JAVA_SHORT, 0, (short) AF_INET6);
                sa.set(ValueLayout.JAVA_BYTE, 2, (byte) (port >>> 8));
                sa.set(ValueLayout.JAVA_BYTE, 3, (byte) port);
                byte[] mapped = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte) 0xff, (byte) 0xff, 127, 0, 0, 1};
                MemorySegment.copy(mapped, 0, sa, ValueLayout.JAVA_BYTE, 8, 16);
                targetLen = Structs.SOCKADDR_IN6_SIZE;
                family = AF_INET6;
            } else {
                InetSocketAddress target = new InetSocketAddress(connectTo, port);
                targetLen = SockAddr.write(sa, target);
                family = SockAddr.family(target);
            }
            s = Syscalls.check(Syscalls.socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0), "socket");
            if (sndbuf > 0) {
                setInt(s, SOL_SOCKET, SO_SNDBUF, sndbuf);
            }
            Syscalls.check(Syscalls.connect(s, sa, targetLen), "connect");
            int r = Syscalls.check(Syscalls.accept4(l, MemorySegment.NULL, MemorySegment.NULL, SOCK_CLOEXEC), "accept4");
            int fl = Syscalls.check(Syscalls.fcntl(s, F_GETFL, 0), "fcntl");
            Syscalls.check(Syscalls.fcntl(s, F_SETFL, fl | O_NONBLOCK), "fcntl");
            return new TxWire(s, r);
        } catch (SyscallException | RuntimeException e) {
            Syscalls.closeQuietly(s);
            throw e;
        } finally {
            Syscalls.close(l);
        }
    }

    public static void setInt(int fd, int level, int name, int value) throws SyscallException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(ValueLayout.JAVA_INT);
            v.set(ValueLayout.JAVA_INT, 0, value);
            Syscalls.check(Syscalls.setsockopt(fd, level, name, v, 4), "setsockopt(" + level + ", " + name + ")");
        }
    }

    /** The sending fd, non-blocking; its new owner closes it. */
    public int takeSender() {
        senderTaken = true;
        return sender;
    }

    /** The sending fd, still owned by the wire (for tests that drive the raw socket). */
    public int sender() {
        return sender;
    }

    public int readerFd() {
        return reader;
    }

    /** One blocking read of at most {@code max} bytes into {@code buf}; 0 at the end of the stream. */
    public long read(MemorySegment buf, long max) throws SyscallException {
        long r;
        do {
            r = Syscalls.recv(reader, buf, Math.min(max, buf.byteSize()), 0);
        } while (r == -EINTR);
        return Syscalls.check(r, "recv");
    }

    /** Reads exactly {@code n} bytes into a new array (blocking). */
    public byte[] readExactly(int n) throws SyscallException {
        byte[] out = new byte[n];
        int done = 0;
        while (done < n) {
            long r = read(scratch, n - done);
            if (r == 0) {
                throw new IllegalStateException("end of stream after " + done + " of " + n + " bytes");
            }
            MemorySegment.copy(scratch, ValueLayout.JAVA_BYTE, 0, out, done, (int) r);
            done += (int) r;
        }
        return out;
    }

    /** Reads and discards until the end of the stream; returns the byte count. */
    public long drainToEnd() throws SyscallException {
        long total = 0;
        while (true) {
            long r = read(scratch, scratch.byteSize());
            if (r == 0) {
                return total;
            }
            total += r;
        }
    }

    /** Closes the reader with SO_LINGER 0: the sender's connection is reset (RST). */
    public void resetReader() throws SyscallException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment linger = a.allocate(8);
            linger.set(ValueLayout.JAVA_INT, 0, 1);
            linger.set(ValueLayout.JAVA_INT, 4, 0);
            Syscalls.check(Syscalls.setsockopt(reader, SOL_SOCKET, 13 /* SO_LINGER */, linger, 8), "SO_LINGER");
        }
        readerClosed = true;
        Syscalls.close(reader);
    }

    /** Waits up to {@code timeoutMillis} for {@code events} (or POLLERR/POLLHUP) on {@code fd}; returns revents. */
    public static int await(int fd, short events, int timeoutMillis) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(Structs.POLLFD);
            p.set(ValueLayout.JAVA_INT, Structs.POLLFD_FD, fd);
            p.set(ValueLayout.JAVA_SHORT, Structs.POLLFD_EVENTS, events);
            int r;
            do {
                r = Syscalls.poll(p, 1, timeoutMillis);
            } while (r == -EINTR);
            return r > 0 ? p.get(ValueLayout.JAVA_SHORT, Structs.POLLFD_REVENTS) : 0;
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (!senderTaken) {
            Syscalls.closeQuietly(sender);
        }
        if (!readerClosed) {
            Syscalls.closeQuietly(reader);
        }
        arena.close();
    }
}
