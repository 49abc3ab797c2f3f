package dev.devmem.ffm.tx;

import dev.devmem.api.DevmemException;
import dev.devmem.api.DevmemProtocolException;
import dev.devmem.api.Errno;
import dev.devmem.api.SyscallException;
import dev.devmem.api.spi.DevmemTxSocket;
import dev.devmem.api.spi.TxBinding;
import dev.devmem.api.spi.TxCompletionSink;
import dev.devmem.api.spi.TxStats;
import dev.devmem.ffm.rx.PollSource;
import dev.devmem.ffm.rx.SocketEndpoint;
import dev.devmem.ffm.sys.LinuxConstants;
import dev.devmem.ffm.sys.Structs;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetSocketAddress;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The devmem TX engine over any {@link SocketEndpoint}: the kernel's socket or the emulated NIC's,
 * which is why both are held to the kernel's bytes.
 *
 * <p><b>Send.</b> One {@code sendmsg(MSG_ZEROCOPY | MSG_DONTWAIT | MSG_NOSIGNAL)} per call, with
 * one iov whose {@code iov_base} is the byte offset into the dmabuf and one control message
 * {@code SOL_SOCKET / SCM_DEVMEM_DMABUF}, {@code cmsg_len = CMSG_LEN(4) = 20}, carrying the u32
 * binding id ({@code msg_controllen = CMSG_SPACE(4) = 24}). For binding id 0 (a copy-fallback
 * binding, or {@link #sendHost} in tests) there is no cmsg and {@code iov_base} is the host address:
 * the kernel's ordinary MSG_ZEROCOPY. The msghdr, iov and both control buffers are allocated once.
 *
 * <p>A call that took {@code n > 0} bytes (all, or a prefix when the socket buffer filled) spent one
 * send number: the {@link TxLedger} records it with the caller's tag. {@code EAGAIN} returns 0 and
 * makes the socket wait for {@code POLLOUT}. {@code ENOBUFS} while sends are outstanding (the
 * zerocopy notification could not be charged to {@code net.core.optmem_max}) also returns 0: the
 * next completion frees room, and {@code POLLERR} wakes the waiter for it. Other failures throw a
 * {@link SyscallException} whose explanation says what that errno means for a devmem send.
 *
 * <p><b>Completions.</b> {@link #pollCompletions} reads {@code recvmsg(MSG_ERRQUEUE | MSG_DONTWAIT)}
 * until {@code EAGAIN}, parses each message with {@link ZerocopyNotices}, marks the ranges in the
 * ledger and reports completed sends in order. A read that finds the queue empty also asks
 * {@code SO_ERROR}, so a reset connection (which keeps {@code POLLERR|POLLHUP} raised) surfaces as an
 * exception instead of a busy wait.
 *
 * <p>A protocol error (a notice outside the ledger, a lost notice) leaves the socket unusable.
 * Threading: one I/O thread at a time; {@link #close()} is idempotent.
 */
public final class DevmemTxSocketImpl implements DevmemTxSocket, PollSource {
    /** The operation name of devmem sends in errors. */
    public static final String DEVMEM_SEND = "sendmsg(MSG_ZEROCOPY, SCM_DEVMEM_DMABUF)";
    /** The operation name of host-memory sends (binding id 0) in errors. */
    public static final String HOST_SEND = "sendmsg(MSG_ZEROCOPY)";
    public static final String ERRQUEUE = "recvmsg(MSG_ERRQUEUE)";
    public static final int SEND_FLAGS = LinuxConstants.MSG_ZEROCOPY | LinuxConstants.MSG_DONTWAIT
            | LinuxConstants.MSG_NOSIGNAL;
    /** {@code CMSG_LEN(sizeof(__u32))}: the only length the kernel accepts for the id cmsg. */
    public static final int ID_CMSG_LEN = (int) Structs.cmsgLen(4);
    /** {@code CMSG_SPACE(sizeof(__u32))}: the control length the send passes. */
    public static final int ID_CMSG_SPACE = (int) Structs.cmsgSpace(4);

    private static final int EINTR = Errno.EINTR.number();
    private static final int EAGAIN = Errno.EAGAIN.number();
    private static final int ENOBUFS = Errno.ENOBUFS.number();
    private static final int ERRQUEUE_FLAGS = LinuxConstants.MSG_ERRQUEUE | LinuxConstants.MSG_DONTWAIT;

    private final SocketEndpoint endpoint;
    private final Arena arena;
    private final MemorySegment msghdr;
    private final MemorySegment iov;
    private final MemorySegment idControl;
    private final MemorySegment errMsghdr;
    private final MemorySegment errControl;
    private final MemorySegment intValue;
    private final MemorySegment intLen;
    private final TxLedger ledger = new TxLedger();
    private final ZerocopyNotices parser = new ZerocopyNotices();
    private final ZerocopyNotices.Sink onNotice = this::onNotice;
    private final Counting counting = new Counting();
    private final AtomicBoolean closed = new AtomicBoolean();

    private DevmemException broken;
    private boolean wantWrite;

    private long sends;
    private long bytesSent;
    private long partialSends;
    private long wouldBlock;
    private long notices;
    private long completedSends;
    private long completedBytes;
    private long copiedSends;

    /**
     * Takes ownership of {@code endpoint} (a connected TCP socket) and turns on {@code SO_ZEROCOPY};
     * closing this socket closes the endpoint, and so does a failure here.
     *
     * @throws SyscallException the kernel refused SO_ZEROCOPY (before Linux 4.14: ENOPROTOOPT)
     */
    public DevmemTxSocketImpl(SocketEndpoint endpoint) throws SyscallException {
        this.endpoint = Objects.requireNonNull(endpoint, "endpoint");
        Arena a = Arena.ofShared();
        try {
            msghdr = a.allocate(Structs.MSGHDR);
            iov = a.allocate(Structs.IOVEC);
            idControl = a.allocate(ID_CMSG_SPACE, Structs.CMSG_ALIGN);
            errMsghdr = a.allocate(Structs.MSGHDR);
            errControl = a.allocate(ZerocopyNotices.CONTROL_BYTES, Structs.CMSG_ALIGN);
            intValue = a.allocate(ValueLayout.JAVA_INT);
            intLen = a.allocate(ValueLayout.JAVA_INT);
            msghdr.set(ValueLayout.ADDRESS, Structs.MSGHDR_IOV, iov);
            msghdr.set(ValueLayout.JAVA_LONG, Structs.MSGHDR_IOVLEN, 1);
            idControl.set(ValueLayout.JAVA_LONG, Structs.CMSG_LEN, ID_CMSG_LEN);
            idControl.set(ValueLayout.JAVA_INT, Structs.CMSG_LEVEL, LinuxConstants.SOL_SOCKET);
            idControl.set(ValueLayout.JAVA_INT, Structs.CMSG_TYPE, LinuxConstants.SCM_DEVMEM_DMABUF);
            errMsghdr.set(ValueLayout.ADDRESS, Structs.MSGHDR_CONTROL, errControl);
            intValue.set(ValueLayout.JAVA_INT, 0, 1);
            int r = endpoint.setsockopt(LinuxConstants.SOL_SOCKET, LinuxConstants.SO_ZEROCOPY, intValue, 4);
            if (r < 0) {
                Errno e = Errno.of(-r);
                throw new SyscallException("setsockopt(SO_ZEROCOPY)", e, switch (e.name()) {
                    case "ENOPROTOOPT" -> "the kernel has no MSG_ZEROCOPY (Linux 4.14+ for TCP)";
                    case "EOPNOTSUPP" -> "not a TCP socket";
                    default -> null;
                });
            }
        } catch (SyscallException | RuntimeException | Error e) {
            a.close();
            endpoint.close();
            throw e;
        }
        this.arena = a;
    }

    @Override
    public InetSocketAddress localAddress() {
        return endpoint.localAddress();
    }

    @Override
    public InetSocketAddress remoteAddress() {
        return endpoint.remoteAddress();
    }

    @Override
    public long send(TxBinding binding, long offset, long length, long tag) throws DevmemException {
        Objects.requireNonNull(binding, "binding");
        int id = binding.id();
        if (id == 0) {
            MemorySegment view = binding.hostView().orElseThrow(() -> new IllegalArgumentException(
                    "binding " + binding + " has id 0 (host memory) but no host view to send from"));
            return sendHost(view, offset, length, tag);
        }
        checkRange(offset, length);
        ensureUsable(DEVMEM_SEND);
        iov.set(ValueLayout.JAVA_LONG, Structs.IOVEC_BASE, offset);
        iov.set(ValueLayout.JAVA_LONG, Structs.IOVEC_LEN, length);
        idControl.set(ValueLayout.JAVA_INT, Structs.CMSGHDR.byteSize(), id);
        msghdr.set(ValueLayout.ADDRESS, Structs.MSGHDR_CONTROL, idControl);
        msghdr.set(ValueLayout.JAVA_LONG, Structs.MSGHDR_CONTROLLEN, ID_CMSG_SPACE);
        long r = sendmsg();
        return sent(r, length, tag, DEVMEM_SEND, binding, offset);
    }

    /**
     * Sends {@code [offset, offset + length)} of host memory {@code memory} with plain MSG_ZEROCOPY
     * (no devmem cmsg, which is what the kernel does for binding id 0). Same ledger, same completions.
     */
    public long sendHost(MemorySegment memory, long offset, long length, long tag) throws DevmemException {
        Objects.requireNonNull(memory, "memory");
        checkRange(offset, length);
        ensureUsable(HOST_SEND);
        if (offset > memory.byteSize() - length) {
            throw new SyscallException(HOST_SEND, Errno.EFAULT, "[" + offset + ", " + (offset + length)
                    + ") lies beyond the " + memory.byteSize() + "-byte host memory");
        }
        if (!memory.scope().isAlive()) {
            throw new SyscallException(HOST_SEND, Errno.EFAULT, "the host memory was freed (its binding is closed)");
        }
        iov.set(ValueLayout.JAVA_LONG, Structs.IOVEC_BASE, memory.address() + offset);
        iov.set(ValueLayout.JAVA_LONG, Structs.IOVEC_LEN, length);
        msghdr.set(ValueLayout.ADDRESS, Structs.MSGHDR_CONTROL, MemorySegment.NULL);
        msghdr.set(ValueLayout.JAVA_LONG, Structs.MSGHDR_CONTROLLEN, 0);
        long r = sendmsg();
        return sent(r, length, tag, HOST_SEND, null, offset);
    }

    private static void checkRange(long offset, long length) {
        if (offset < 0) {
            throw new IllegalArgumentException("offset must be >= 0, was " + offset);
        }
        if (length <= 0) {
            throw new IllegalArgumentException("length must be > 0, was " + length);
        }
    }

    private long sendmsg() {
        long r;
        do {
            msghdr.set(ValueLayout.JAVA_INT, Structs.MSGHDR_FLAGS, 0);
            r = endpoint.sendmsg(msghdr, SEND_FLAGS);
        } while (r == -EINTR);
        return r;
    }

    private long sent(long r, long length, long tag, String operation, TxBinding binding, long offset)
            throws SyscallException {
        if (r > 0) {
            if (r > length) {
                throw new IllegalStateException(operation + " returned " + r + " for " + length + " bytes");
            }
            ledger.record(tag, r);
            sends++;
            bytesSent += r;
            wantWrite = r < length;
            if (wantWrite) {
                partialSends++;
            }
            return r;
        }
        if (r == 0 || r == -EAGAIN || (r == -ENOBUFS && ledger.size() > 0)) {
            wouldBlock++;
            wantWrite = r != -ENOBUFS;
            return 0;
        }
        int errno = (int) -r;
        throw new SyscallException(operation, Errno.of(errno), explainSend(errno, binding, offset, length));
    }

    /** What a sendmsg errno means for a devmem send of {@code [offset, offset + length)} ({@code binding} null: host memory). */
    static String explainSend(int errno, TxBinding binding, long offset, long length) {
        String id = binding == null ? "0" : Integer.toUnsignedString(binding.id());
        return switch (errno) {
            case 22 -> binding == null ? null : binding.isOpen()
                    ? "the kernel knows no TX binding " + id + ": it is an RX binding's id, or the binding's netlink"
                      + " socket is gone (closing it unbinds); the cmsg and SO_ZEROCOPY were right"
                    : "TX binding " + id + " is closed: closing its netlink socket unbound it";
            case 19 -> "the connection's route leaves through another device than " + binding.interfaceName()
                    + " (ifindex " + binding.ifindex() + "), the one TX binding " + id + " is bound to; the kernel sends"
                    + " a dmabuf only through its own device: connect through that interface (SO_BINDTODEVICE)";
            case 113 -> "the connection has no cached route and the kernel could not rebuild one";
            case 14 -> binding == null ? null : "[" + offset + ", " + (offset + length) + ") starts beyond TX binding "
                    + id + "'s dmabuf of " + binding.dmabufSize() + " bytes (iov_base is an offset into the dmabuf)";
            case 105 -> "the kernel could not allocate a zerocopy notification with no send outstanding to free one:"
                    + " net.core.optmem_max is too small" + (binding == null ? ", or host memory exceeds RLIMIT_MEMLOCK" : "");
            case 32, 104 -> "the connection is closed";
            default -> null;
        };
    }

    @Override
    public int pollCompletions(TxCompletionSink sink) throws DevmemException {
        Objects.requireNonNull(sink, "sink");
        ensureUsable(ERRQUEUE);
        boolean read = false;
        try {
            while (true) {
                errMsghdr.set(ValueLayout.JAVA_LONG, Structs.MSGHDR_CONTROLLEN, ZerocopyNotices.CONTROL_BYTES);
                errMsghdr.set(ValueLayout.JAVA_INT, Structs.MSGHDR_FLAGS, 0);
                long r = endpoint.recvmsg(errMsghdr, ERRQUEUE_FLAGS);
                if (r == -EINTR) {
                    continue;
                }
                if (r == -EAGAIN) {
                    break;
                }
                if (r < 0) {
                    throw new SyscallException(ERRQUEUE, Errno.of((int) -r));
                }
                read = true;
                long controllen = errMsghdr.get(ValueLayout.JAVA_LONG, Structs.MSGHDR_CONTROLLEN);
                int flags = errMsghdr.get(ValueLayout.JAVA_INT, Structs.MSGHDR_FLAGS);
                if (parser.parse(errControl, controllen, flags, onNotice) == 0) {
                    throw new DevmemProtocolException(ERRQUEUE + " returned a message without a zerocopy"
                            + " notification (" + controllen + " control bytes, flags 0x" + Integer.toHexString(flags) + ")");
                }
            }
        } catch (DevmemProtocolException e) {
            broken = e;
            throw e;
        }
        counting.target = sink;
        int reported;
        try {
            reported = ledger.drain(counting);
        } finally {
            counting.target = null;
        }
        if (!read) {
            checkSocketError();
        }
        return reported;
    }

    private void onNotice(int lo, int hi, int code) throws DevmemProtocolException {
        ledger.complete(lo, hi, (code & LinuxConstants.SO_EE_CODE_ZEROCOPY_COPIED) != 0);
        notices++;
    }

    /** A pending socket error (a reset connection) as an exception; the socket is unusable after it. */
    private void checkSocketError() throws SyscallException {
        intLen.set(ValueLayout.JAVA_INT, 0, 4);
        int r = endpoint.getsockopt(LinuxConstants.SOL_SOCKET, LinuxConstants.SO_ERROR, intValue, intLen);
        if (r < 0) {
            throw new SyscallException("getsockopt(SO_ERROR)", Errno.of(-r));
        }
        int error = intValue.get(ValueLayout.JAVA_INT, 0);
        if (error != 0) {
            SyscallException e = new SyscallException("TCP connection", Errno.of(error),
                    explainSend(error, null, 0, 0));
            broken = e;
            throw e;
        }
    }

    private void ensureUsable(String operation) throws DevmemException {
        if (closed.get()) {
            throw new SyscallException(operation, Errno.EBADF, "the socket is closed");
        }
        if (broken != null) {
            DevmemException e = broken instanceof SyscallException s
                    ? new SyscallException(s.operation(), s.errno(), "the socket failed earlier: " + s.getMessage())
                    : new DevmemProtocolException("the socket stopped at an earlier protocol error: " + broken.getMessage());
            e.initCause(broken);
            throw e;
        }
    }

    /** Counts what the ledger reports on its way to the caller's sink (one instance, no allocation). */
    private final class Counting implements TxCompletionSink {
        TxCompletionSink target;

        @Override
        public void completed(long tag, long bytes, boolean copied) {
            completedSends++;
            completedBytes += bytes;
            if (copied) {
                copiedSends++;
            }
            target.completed(tag, bytes, copied);
        }
    }

    @Override
    public int outstandingSends() {
        return ledger.size();
    }

    @Override
    public long outstandingBytes() {
        return ledger.bytes();
    }

    /** The number the next send will be given by the kernel (u32). */
    public int nextSendNumber() {
        return ledger.nextNumber();
    }

    @Override
    public TxStats stats() {
        return new TxStats(sends, bytesSent, partialSends, wouldBlock, notices, completedSends, completedBytes,
                copiedSends, ledger.size(), ledger.bytes());
    }

    @Override
    public void shutdownOutput() throws DevmemException {
        if (closed.get()) {
            throw new SyscallException("shutdown(SHUT_WR)", Errno.EBADF, "the socket is closed");
        }
        int r = endpoint.shutdown(LinuxConstants.SHUT_WR);
        if (r < 0) {
            throw new SyscallException("shutdown(SHUT_WR)", Errno.of(-r));
        }
    }

    /** The endpoint's fd; {@code -1} once closed. */
    @Override
    public int pollFd() {
        return closed.get() ? -1 : endpoint.pollFd();
    }

    /**
     * {@code POLLOUT} after a send that could not take everything; otherwise nothing: {@code POLLERR}
     * (a notification queued, or a socket error) and {@code POLLHUP} wake the waiter regardless.
     */
    @Override
    public short pollEvents() {
        return wantWrite ? LinuxConstants.POLLOUT : 0;
    }

    /** Closes the endpoint and frees the native memory. Sends still outstanding are never reported. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        try {
            endpoint.close();
        } finally {
            ledger.clear();
            try {
                arena.close();
            } catch (IllegalStateException inUse) {
                // a native call on another thread still uses the buffers; leave them to the GC-less arena
            }
        }
    }

    @Override
    public String toString() {
        return "DevmemTxSocket[" + endpoint + ", " + ledger + "]";
    }
}
