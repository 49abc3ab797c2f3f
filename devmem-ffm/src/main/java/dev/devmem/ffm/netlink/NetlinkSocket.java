package dev.devmem.ffm.netlink;

import dev.devmem.api.DevmemException;
import dev.devmem.api.DevmemProtocolException;
import dev.devmem.api.Errno;
import dev.devmem.api.SyscallException;
import dev.devmem.ffm.sys.Structs;
import dev.devmem.ffm.sys.Syscalls;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

import static dev.devmem.ffm.netlink.NetlinkConstants.*;
import static dev.devmem.ffm.sys.LinuxConstants.*;

/**
 * A generic-netlink socket ({@code AF_NETLINK, SOCK_RAW, NETLINK_GENERIC}) that sends requests and
 * collects their answers: a do request's reply and ACK, a dump's parts up to {@code NLMSG_DONE},
 * or the kernel's error with its extended ACK turned into a {@link dev.devmem.api.NetlinkException}.
 * It knows no family; families build {@link GenlRequest}s and parse the {@link GenlMessage}s.
 *
 * <p>Why a socket is an object with one owner: kernel state hangs off it. netdev ties a dmabuf
 * binding to the socket that made it and undoes the binding when the socket closes, so each binding
 * owns its own socket. The socket lives in the network namespace of the thread that opened it and
 * keeps it, whatever thread uses it later.
 *
 * <p>Replies are matched by sequence number and this socket's port id, and only datagrams from the
 * kernel (port 0) count; stale replies are dropped, notifications are kept for
 * {@link #receiveNotification}. The receive buffer starts at 32 KiB (the kernel sizes dump parts
 * after it) and grows when a datagram is larger. {@code NETLINK_EXT_ACK} and
 * {@code NETLINK_CAP_ACK} are switched on where the kernel allows.
 *
 * <p>Calls are serialized; {@link #close()} is idempotent and may come from any thread.
 * The fd is {@code O_CLOEXEC}, so a child process cannot keep a binding alive.
 */
public final class NetlinkSocket implements AutoCloseable {
    /**
     * Receive buffer size to start with. The kernel sizes a dump's parts after the largest buffer
     * the reader offered, up to 32 KiB, so this gets the fewest datagrams; larger ones grow it.
     */
    public static final int MIN_RECEIVE_BUFFER = 32 * 1024;
    private static final int DUMP_ATTEMPTS = 4;

    private final int fd;
    private final int portId;
    private final boolean extAck;
    private final boolean capAck;
    private final ReentrantLock lock = new ReentrantLock();
    private final Arena arena = Arena.ofShared();
    private final MemorySegment msghdr;
    private final MemorySegment iov;
    private final MemorySegment name;
    private final MemorySegment pollfd;
    private Arena rxArena;
    private MemorySegment rx;
    private int seq;
    private final ArrayDeque<NlMessage> notifications = new ArrayDeque<>();
    private volatile boolean closed;
    private volatile Consumer<NlMessage> tap;

    private NetlinkSocket(int fd, int portId, boolean extAck, boolean capAck, int receiveBuffer) {
        this.fd = fd;
        this.portId = portId;
        this.extAck = extAck;
        this.capAck = capAck;
        msghdr = arena.allocate(Structs.MSGHDR);
        iov = arena.allocate(Structs.IOVEC);
        name = arena.allocate(SOCKADDR_NL_SIZE, 4);
        pollfd = arena.allocate(Structs.POLLFD);
        rxArena = Arena.ofShared();
        rx = rxArena.allocate(receiveBuffer, 8);
        seq = (int) (System.nanoTime() & 0x3FFF_FFFF) | 1;
    }

    /** Opens a {@code NETLINK_GENERIC} socket in the calling thread's network namespace. */
    public static NetlinkSocket open() throws SyscallException {
        return open(NETLINK_GENERIC);
    }

    /** Opens a netlink socket of another protocol that speaks the same framing. */
    public static NetlinkSocket open(int protocol) throws SyscallException {
        return open(protocol, true, true, MIN_RECEIVE_BUFFER);
    }

    /** Opens a socket asking for extended ACKs and capped ACKs or not (tests of older kernels' answers). */
    static NetlinkSocket open(int protocol, boolean wantExtAck, boolean wantCapAck, int receiveBuffer)
            throws SyscallException {
        int fd = Syscalls.check(Syscalls.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol), "socket(AF_NETLINK)");
        try (Arena a = Arena.ofConfined()) {
            MemorySegment addr = a.allocate(SOCKADDR_NL_SIZE, 4);
            addr.set(ValueLayout.JAVA_SHORT, 0, (short) AF_NETLINK);
            Syscalls.check(Syscalls.bind(fd, addr, SOCKADDR_NL_SIZE), "bind(AF_NETLINK)");
            MemorySegment len = a.allocate(ValueLayout.JAVA_INT);
            len.set(ValueLayout.JAVA_INT, 0, SOCKADDR_NL_SIZE);
            Syscalls.check(Syscalls.getsockname(fd, addr, len), "getsockname(AF_NETLINK)");
            int port = addr.get(ValueLayout.JAVA_INT, 4);
            MemorySegment one = a.allocate(ValueLayout.JAVA_INT);
            one.set(ValueLayout.JAVA_INT, 0, 1);
            // Older kernels refuse these (ENOPROTOOPT); errors then come without TLVs or with the payload echoed.
            boolean ext = wantExtAck && Syscalls.setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, one, 4) == 0;
            boolean cap = wantCapAck && Syscalls.setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, one, 4) == 0;
            return new NetlinkSocket(fd, port, ext, cap, receiveBuffer);
        } catch (SyscallException | RuntimeException e) {
            Syscalls.closeQuietly(fd);
            throw e;
        }
    }

    /** The port id the kernel gave this socket; replies carry it in {@code nlmsg_pid}. */
    public int portId() {
        return portId;
    }

    /** Whether the kernel accepted {@code NETLINK_EXT_ACK} (error texts and attribute offsets). */
    public boolean extendedAckEnabled() {
        return extAck;
    }

    /** Whether the kernel accepted {@code NETLINK_CAP_ACK} (errors do not echo the request payload). */
    public boolean capAckEnabled() {
        return capAck;
    }

    public boolean isOpen() {
        return !closed;
    }

    /** A do request: returns its replies (often one, none for set-style commands). */
    public List<GenlMessage> request(GenlRequest request) throws DevmemException {
        return request(request, ErrorExplainer.NONE);
    }

    /** A do request; a refusal becomes a NetlinkException explained by {@code explainer}. */
    public List<GenlMessage> request(GenlRequest request, ErrorExplainer explainer) throws DevmemException {
        return exchange(request, NLM_F_REQUEST | NLM_F_ACK, explainer).messages;
    }

    /** A dump: every part up to {@code NLMSG_DONE}; an error inside DONE is thrown. */
    public List<GenlMessage> dump(GenlRequest request) throws DevmemException {
        return dump(request, ErrorExplainer.NONE);
    }

    /**
     * A dump. When the kernel flags a part {@code NLM_F_DUMP_INTR} (the objects changed while it
     * dumped), the dump is repeated a few times before giving up with {@code EINTR}.
     */
    public List<GenlMessage> dump(GenlRequest request, ErrorExplainer explainer) throws DevmemException {
        for (int attempt = 1; ; attempt++) {
            Exchange x = exchange(request, NLM_F_REQUEST | NLM_F_DUMP, explainer);
            if (!x.interrupted) {
                return x.messages;
            }
            if (attempt == DUMP_ATTEMPTS) {
                throw new SyscallException(request.operation() + " (dump)", Errno.EINTR,
                        "the kernel's objects kept changing during " + DUMP_ATTEMPTS + " dumps (NLM_F_DUMP_INTR)");
            }
        }
    }

    /** Joins a multicast group (ids are dynamic: take them from {@link GenlFamily#group}). */
    public void joinGroup(int groupId) throws SyscallException {
        lock.lock();
        try (Arena a = Arena.ofConfined()) {
            ensureOpen();
            MemorySegment g = a.allocate(ValueLayout.JAVA_INT);
            g.set(ValueLayout.JAVA_INT, 0, groupId);
            Syscalls.check(Syscalls.setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, g, 4),
                    "setsockopt(NETLINK_ADD_MEMBERSHIP, group " + groupId + ")");
        } finally {
            lock.unlock();
        }
    }

    /**
     * The next multicast notification from a joined group, waiting with {@code poll(2)} at most
     * {@code timeout}; empty when none came. {@code ENOBUFS} means notifications were lost. The
     * socket is held while waiting, so keep notifications on a socket of their own.
     */
    public Optional<GenlMessage> receiveNotification(Duration timeout) throws DevmemException {
        long deadline = System.nanoTime() + timeout.toNanos();
        lock.lock();
        try {
            ensureOpen();
            while (notifications.isEmpty()) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return Optional.empty();
                }
                if (!pollIn((int) Math.min(Integer.MAX_VALUE, Math.max(1, left / 1_000_000)))) {
                    continue;
                }
                byte[] d = receiveDatagram(MSG_DONTWAIT, "notification");
                if (d == null) {
                    continue;
                }
                for (NlMessage m : split(d)) {
                    keepIfNotification(m);
                }
            }
            return Optional.of(GenlMessage.parse(notifications.poll(), "notification"));
        } finally {
            lock.unlock();
        }
    }

    /** Closes the socket; the kernel drops the state tied to it (netdev: its bindings). Idempotent. */
    @Override
    public void close() {
        lock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            Syscalls.closeQuietly(fd);
            rxArena.close();
            arena.close();
        } finally {
            lock.unlock();
        }
    }

    @Override
    public String toString() {
        return "NetlinkSocket[fd " + fd + ", port " + Integer.toUnsignedString(portId) + (closed ? ", closed]" : "]");
    }

    private record Exchange(List<GenlMessage> messages, boolean interrupted) {
    }

    private Exchange exchange(GenlRequest request, int flags, ErrorExplainer explainer) throws DevmemException {
        boolean dump = (flags & NLM_F_DUMP) == NLM_F_DUMP;
        lock.lock();
        try {
            ensureOpen();
            int mySeq = nextSeq();
            send(request.encode(flags, mySeq), request.operation());
            List<GenlMessage> out = new ArrayList<>();
            boolean interrupted = false;
            while (true) {
                byte[] d = receiveDatagram(0, request.operation());
                for (NlMessage m : split(d)) {
                    if (m.pid() != portId || m.seq() != mySeq) {
                        keepIfNotification(m);
                        continue;
                    }
                    interrupted |= m.hasFlags(NLM_F_DUMP_INTR);
                    switch (m.type()) {
                        case NLMSG_NOOP -> {
                        }
                        case NLMSG_ERROR -> {
                            ExtAck ack = ExtAck.ofError(m);
                            if (!ack.isAck()) {
                                throw fail(request, ack, explainer);
                            }
                            if (!dump) {
                                return new Exchange(List.copyOf(out), interrupted);
                            }
                        }
                        case NLMSG_DONE -> {
                            ExtAck done = ExtAck.ofDone(m);
                            if (!done.isAck()) {
                                throw fail(request, done, explainer);
                            }
                            return new Exchange(List.copyOf(out), interrupted);
                        }
                        case NLMSG_OVERRUN -> throw new DevmemProtocolException(
                                request.operation() + ": the kernel reported NLMSG_OVERRUN");
                        default -> out.add(GenlMessage.parse(m, request.operation()));
                    }
                }
            }
        } finally {
            lock.unlock();
        }
    }

    private static DevmemException fail(GenlRequest request, ExtAck ack, ErrorExplainer explainer) {
        NetlinkFailure f = NetlinkFailure.of(request, ack);
        return f.toException(explainer.explain(f));
    }

    /** Sees every message this socket receives, before matching (golden-byte capture in tests). */
    void tap(Consumer<NlMessage> tap) {
        this.tap = tap;
    }

    private List<NlMessage> split(byte[] datagram) throws DevmemProtocolException {
        List<NlMessage> messages = NlMessage.split(datagram, datagram.length);
        Consumer<NlMessage> t = tap;
        if (t != null) {
            messages.forEach(t);
        }
        return messages;
    }

    private void keepIfNotification(NlMessage m) {
        // Multicast comes from the kernel with port id 0 and a family type; anything else is a stale reply.
        if (m.pid() == 0 && m.type() >= GENL_ID_CTRL) {
            notifications.add(m);
        }
    }

    private int nextSeq() {
        seq++;
        if (seq == 0) {
            seq = 1; // 0 is what notifications carry
        }
        return seq;
    }

    private void send(byte[] bytes, String operation) throws SyscallException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(bytes.length, 8);
            MemorySegment.copy(bytes, 0, m, ValueLayout.JAVA_BYTE, 0, bytes.length);
            long r;
            do {
                r = Syscalls.send(fd, m, bytes.length, 0);
            } while (r == -Errno.EINTR.number());
            Syscalls.check(r, operation + ": send(netlink)");
            if (r != bytes.length) {
                throw new SyscallException(operation + ": send(netlink) sent " + r + " of " + bytes.length + " bytes",
                        Errno.EMSGSIZE);
            }
        }
    }

    /** Receives one datagram from the kernel, growing the buffer first if it would not fit; null on EAGAIN. */
    private byte[] receiveDatagram(int flags, String operation) throws DevmemException {
        while (true) {
            long n = Syscalls.recv(fd, rx, rx.byteSize(), MSG_PEEK | MSG_TRUNC | flags);
            if (n == -Errno.EINTR.number()) {
                continue;
            }
            if (n == -Errno.EAGAIN.number() && (flags & MSG_DONTWAIT) != 0) {
                return null;
            }
            if (n == -Errno.ENOBUFS.number()) {
                throw new SyscallException(operation + ": recv(netlink)", Errno.ENOBUFS,
                        "the socket's receive queue overflowed and messages were lost");
            }
            Syscalls.check(n, operation + ": recv(netlink)");
            if (n > rx.byteSize()) {
                grow(n);
                continue;
            }
            iov.set(ValueLayout.ADDRESS, Structs.IOVEC_BASE, rx);
            iov.set(ValueLayout.JAVA_LONG, Structs.IOVEC_LEN, rx.byteSize());
            msghdr.fill((byte) 0);
            msghdr.set(ValueLayout.ADDRESS, Structs.MSGHDR_NAME, name);
            msghdr.set(ValueLayout.JAVA_INT, Structs.MSGHDR_NAMELEN, SOCKADDR_NL_SIZE);
            msghdr.set(ValueLayout.ADDRESS, Structs.MSGHDR_IOV, iov);
            msghdr.set(ValueLayout.JAVA_LONG, Structs.MSGHDR_IOVLEN, 1);
            long r = Syscalls.recvmsg(fd, msghdr, flags & MSG_DONTWAIT);
            if (r == -Errno.EINTR.number() || r == -Errno.EAGAIN.number() && (flags & MSG_DONTWAIT) != 0) {
                continue;
            }
            Syscalls.check(r, operation + ": recvmsg(netlink)");
            if ((msghdr.get(ValueLayout.JAVA_INT, Structs.MSGHDR_FLAGS) & MSG_TRUNC) != 0) {
                throw new DevmemProtocolException(operation + ": a netlink datagram was truncated at " + r + " bytes");
            }
            if (name.get(ValueLayout.JAVA_INT, 4) != 0) {
                continue; // not from the kernel: another process wrote to our port
            }
            return rx.asSlice(0, r).toArray(ValueLayout.JAVA_BYTE);
        }
    }

    private void grow(long atLeast) {
        long size = Math.max(rx.byteSize() * 2, (atLeast + 4095) & ~4095L);
        Arena next = Arena.ofShared();
        MemorySegment bigger = next.allocate(size, 8);
        rxArena.close();
        rxArena = next;
        rx = bigger;
    }

    private boolean pollIn(int timeoutMillis) throws SyscallException {
        pollfd.set(ValueLayout.JAVA_INT, Structs.POLLFD_FD, fd);
        pollfd.set(ValueLayout.JAVA_SHORT, Structs.POLLFD_EVENTS, POLLIN);
        pollfd.set(ValueLayout.JAVA_SHORT, Structs.POLLFD_REVENTS, (short) 0);
        int r = Syscalls.poll(pollfd, 1, timeoutMillis);
        if (r == -Errno.EINTR.number()) {
            return false;
        }
        return Syscalls.check(r, "poll(netlink)") > 0;
    }

    /** Current receive buffer size (tests). */
    long receiveBufferSize() {
        return rx.byteSize();
    }

    private void ensureOpen() throws SyscallException {
        if (closed) {
            throw new SyscallException("netlink", Errno.EBADF, "the netlink socket is closed");
        }
    }
}
