package dev.devmem.ffm.rx;

import dev.devmem.ffm.RxSocketOptions;
import dev.devmem.api.DevmemException;
import dev.devmem.api.DevmemProtocolException;
import dev.devmem.api.Errno;
import dev.devmem.api.FragKind;
import dev.devmem.api.SyscallException;
import dev.devmem.api.spi.DevmemSocket;
import dev.devmem.api.spi.ReceiveBatch;
import dev.devmem.api.spi.SocketStats;
import dev.devmem.ffm.sys.LinuxConstants;
import dev.devmem.ffm.sys.Structs;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetSocketAddress;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The devmem receive engine over any {@link SocketEndpoint}: the kernel's socket or the emulated
 * NIC's. One parser, one ledger and one release path for both, which is why the endpoint seam is
 * byte-exact with the kernel.
 *
 * <p>Per socket, allocated once in a native arena: a {@code msghdr}, one {@code iovec}, a control
 * buffer of 40 bytes per fragment a batch may hold, a {@code dmabuf_token} range buffer and a pool
 * of host slabs that the iov points into ({@link HostSlabPool}). Nothing is allocated per fragment.
 *
 * <p>{@link #receive}: {@code recvmsg(MSG_SOCK_DEVMEM | MSG_DONTWAIT)} with {@code msg_controllen =
 * 40 × limit}, so the kernel cannot hand out more tokens than the consumer allowed (each token needs
 * its own cmsg; when control space runs out the kernel returns a short count and keeps the rest
 * queued). The cmsgs are walked in stream order: {@code SCM_DEVMEM_DMABUF} gives a DMABUF fragment
 * whose token enters the ledger; {@code SCM_DEVMEM_LINEAR} gives a LINEAR fragment made of the next
 * unread iov bytes; a call without devmem cmsgs (a flow not steered to a devmem queue, loopback)
 * gives one HOST fragment of everything returned. The fragment sizes must add up to the return
 * value. Any break of that contract is a {@link DevmemProtocolException} and leaves the socket
 * unusable: the stream position could no longer be trusted, and a guessed token could free
 * somebody else's fragment.
 *
 * <p>{@link #release}: a DMABUF token leaves the ledger and is queued for {@code SO_DEVMEM_DONTNEED}
 * ({@link DontneedBatcher}, flushed at 1024 queued tokens or by {@link #flushReleases()}); a host
 * key drops its slab reference at once. A key that is not outstanding is counted and ignored.
 *
 * <p>Threading: one I/O thread at a time, as the SPI says. {@link #close()} is idempotent and may
 * come from any thread once the I/O thread has stopped using the socket.
 */
public final class DevmemSocketImpl implements DevmemSocket, PollSource {
    /** The operation name in receive errors. */
    public static final String RECV_OPERATION = "recvmsg(MSG_SOCK_DEVMEM)";
    private static final int RECV_FLAGS = LinuxConstants.MSG_SOCK_DEVMEM | LinuxConstants.MSG_DONTWAIT;
    private static final int EINTR = Errno.EINTR.number();
    private static final int EAGAIN = Errno.EAGAIN.number();
    private static final int ETOOSMALL = Errno.ETOOSMALL.number();
    private static final long CMSG_SPACE = Structs.DEVMEM_CMSG_SPACE;
    private static final FragKind[] KINDS = FragKind.values();
    private static final int DMABUF = FragKind.DMABUF.ordinal();
    private static final int LINEAR = FragKind.LINEAR.ordinal();
    private static final int HOST = FragKind.HOST.ordinal();

    private final SocketEndpoint endpoint;
    private final RxSocketOptions options;
    private final DmabufViews views;
    private final Arena arena;
    private final MemorySegment msghdr;
    private final MemorySegment iov;
    private final MemorySegment control;
    private final HostSlabPool pool;
    private final TokenLedger ledger;
    private final DontneedBatcher batcher;
    private final CmsgWalker walker = new CmsgWalker();
    private final AtomicBoolean closed = new AtomicBoolean();

    private DevmemProtocolException broken;
    private long streamPosition;
    private long recvCalls;
    private final long[] bytesByKind = new long[KINDS.length];
    private final long[] fragsByKind = new long[KINDS.length];
    private long unknownReleases;
    // The host view of the dmabuf the last DMABUF frag of this receive was in: frags of one recvmsg
    // are almost always in one dmabuf, and its tokens keep its memory mapped for the whole walk.
    private boolean viewValid;
    private int viewId;
    private MemorySegment view;

    /**
     * Takes ownership of {@code endpoint}: closing this socket closes it, and so does a failure here.
     *
     * @param views host views of the dmabufs DMABUF fragments may point into; {@code null} = none
     */
    public DevmemSocketImpl(SocketEndpoint endpoint, RxSocketOptions options, DmabufViews views) {
        this.endpoint = Objects.requireNonNull(endpoint, "endpoint");
        Arena a = null;
        try {
            this.options = Objects.requireNonNull(options, "options");
            this.views = views == null ? DmabufViews.none() : views;
            a = Arena.ofShared();
            this.msghdr = a.allocate(Structs.MSGHDR);
            this.iov = a.allocate(Structs.IOVEC);
            this.control = a.allocate(options.controlBufferBytes(), Structs.CMSG_ALIGN);
            MemorySegment ranges = a.allocate(DontneedBatcher.RANGE_BUFFER_BYTES, 8);
            long slabBytes = (long) options.hostSlabCount() * options.hostSlabSize();
            MemorySegment slabs = a.allocate(slabBytes, 4096);
            this.pool = new HostSlabPool(slabs, options.hostSlabCount(), options.hostSlabSize(), options.maxHostFrags());
            this.ledger = new TokenLedger(1024);
            this.batcher = new DontneedBatcher(ranges);
            msghdr.set(ValueLayout.ADDRESS, Structs.MSGHDR_NAME, MemorySegment.NULL);
            msghdr.set(ValueLayout.JAVA_INT, Structs.MSGHDR_NAMELEN, 0);
            msghdr.set(ValueLayout.ADDRESS, Structs.MSGHDR_IOV, iov);
            msghdr.set(ValueLayout.JAVA_LONG, Structs.MSGHDR_IOVLEN, 1);
            msghdr.set(ValueLayout.ADDRESS, Structs.MSGHDR_CONTROL, control);
            this.arena = a;
        } catch (RuntimeException | Error e) {
            if (a != null) {
                a.close();
            }
            endpoint.close();
            throw e;
        }
    }

    /** A socket with no host-mappable dmabuf. */
    public DevmemSocketImpl(SocketEndpoint endpoint, RxSocketOptions options) {
        this(endpoint, options, DmabufViews.none());
    }

    @Override
    public InetSocketAddress localAddress() {
        return endpoint.localAddress();
    }

    @Override
    public InetSocketAddress remoteAddress() {
        return endpoint.remoteAddress();
    }

    /**
     * {@inheritDoc}
     *
     * <p>At most {@code min(batch.limit(), maxBatch, free host keys)} fragments. Returns {@code 0}
     * without calling the kernel when no host slab has room (then {@link #pollFd()} is {@code -1}
     * until a release), and {@code 0} with no host memory used when nothing is ready.
     */
    @Override
    public int receive(ReceiveBatch batch) throws DevmemException {
        batch.clear();
        ensureUsable();
        int limit = Math.min(Math.min(batch.limit(), options.maxBatch()), pool.freeKeys());
        long space = limit == 0 ? 0 : pool.prepare();
        if (space == 0) {
            return 0;
        }
        MemorySegment slab = pool.currentSlab();
        long base = pool.writeOffset();
        long controlLen = limit * CMSG_SPACE;
        iov.set(ValueLayout.JAVA_LONG, Structs.IOVEC_BASE, slab.address() + base);
        iov.set(ValueLayout.JAVA_LONG, Structs.IOVEC_LEN, space);
        long r;
        do {
            msghdr.set(ValueLayout.JAVA_LONG, Structs.MSGHDR_CONTROLLEN, controlLen);
            msghdr.set(ValueLayout.JAVA_INT, Structs.MSGHDR_FLAGS, 0);
            r = endpoint.recvmsg(msghdr, RECV_FLAGS);
        } while (r == -EINTR);
        if (r == -EAGAIN) {
            return 0;
        }
        if (r < 0) {
            throw recvError((int) -r, controlLen);
        }
        if (r == 0) {
            return END_OF_STREAM;
        }
        int flags = msghdr.get(ValueLayout.JAVA_INT, Structs.MSGHDR_FLAGS);
        long returnedControl = msghdr.get(ValueLayout.JAVA_LONG, Structs.MSGHDR_CONTROLLEN);
        try {
            if ((flags & LinuxConstants.MSG_CTRUNC) != 0) {
                throw new DevmemProtocolException(RECV_OPERATION + " returned MSG_CTRUNC: the kernel dropped"
                        + " control messages, and with them the tokens of their fragments, which stay held until"
                        + " the socket closes. Kernels before 6.14 (and 6.12.y before the put_cmsg_notrunc"
                        + " backport) do this; upgrade the kernel");
            }
            if (returnedControl < 0 || returnedControl > controlLen) {
                throw new DevmemProtocolException(RECV_OPERATION + " returned msg_controllen "
                        + Long.toUnsignedString(returnedControl) + ", more than the " + controlLen + " bytes given");
            }
            if (r > space) {
                throw new DevmemProtocolException(RECV_OPERATION + " returned " + r
                        + " bytes, more than the iov of " + space + " bytes allows");
            }
            return parse(batch, r, returnedControl, slab, base);
        } catch (DevmemProtocolException e) {
            broken = e;
            throw e;
        }
    }

    private int parse(ReceiveBatch batch, long r, long controlLen, MemorySegment slab, long base)
            throws DevmemProtocolException {
        long position = streamPosition;
        long total = 0;
        long iovUsed = 0;
        int dmabufFrags = 0;
        long dmabufBytes = 0;
        boolean devmem = false;
        viewValid = false; // looked up again once per receive: a binding may have gone since the last
        view = null;
        try {
            walker.reset(control, controlLen);
            while (walker.next()) {
                boolean dmabuf = walker.isDmabuf();
                if (!dmabuf && !walker.isLinear()) {
                    continue; // another level or type: not ours to interpret
                }
                devmem = true;
                long size = walker.fragSize();
                if (size > r - total) {
                    throw new DevmemProtocolException(CmsgWalker.typeName(walker.type()) + " cmsg at control offset "
                            + walker.position() + " has frag_size " + size + ", but only " + (r - total)
                            + " of the " + r + " bytes recvmsg returned are left");
                }
                if (batch.size() == batch.limit()) {
                    throw new DevmemProtocolException("more devmem cmsgs than the " + batch.limit()
                            + " fragments the control space was sized for");
                }
                if (dmabuf) {
                    addDmabuf(batch, size, position + total);
                    dmabufFrags++;
                    dmabufBytes += size;
                } else {
                    int key = pool.pin(FragKind.LINEAR);
                    batch.add(FragKind.LINEAR, 0, base + iovUsed, (int) size, position + total, key, slab);
                    iovUsed += size;
                }
                total += size;
            }
            if (!devmem) {
                int key = pool.pin(FragKind.HOST);
                batch.add(FragKind.HOST, 0, base, (int) r, position, key, slab);
                total = r;
                iovUsed = r;
            }
            if (total != r) {
                throw new DevmemProtocolException("devmem fragment sizes add up to " + total + " bytes but "
                        + RECV_OPERATION + " returned " + r);
            }
        } catch (DevmemProtocolException e) {
            rollback(batch);
            throw e;
        }
        pool.advance(iovUsed);
        streamPosition = position + r;
        recvCalls++;
        int n = batch.size();
        // Per kind, from the walk's own counts: DMABUF counted as it went, the rest is host memory
        // (LINEAR cmsgs, or one HOST frag when there were no devmem cmsgs).
        int hostFrags = n - dmabufFrags;
        fragsByKind[DMABUF] += dmabufFrags;
        bytesByKind[DMABUF] += dmabufBytes;
        fragsByKind[devmem ? LINEAR : HOST] += hostFrags;
        bytesByKind[devmem ? LINEAR : HOST] += r - dmabufBytes;
        return n;
    }

    private void addDmabuf(ReceiveBatch batch, long size, long position) throws DevmemProtocolException {
        int token = walker.fragToken();
        int id = walker.dmabufId();
        long offset = walker.fragOffset();
        if (token <= 0) {
            throw new DevmemProtocolException("SCM_DEVMEM_DMABUF cmsg at control offset " + walker.position()
                    + " carries token " + Integer.toUnsignedString(token) + ", outside the kernel's [1, 2^31-1]");
        }
        MemorySegment view;
        if (viewValid && id == viewId) {
            view = this.view;
        } else {
            view = views.hostView(id);
            this.view = view;
            viewId = id;
            viewValid = true;
        }
        if (view != null && (offset < 0 || offset > view.byteSize() - size)) {
            throw new DevmemProtocolException("DMABUF frag [" + Long.toUnsignedString(offset) + ", +" + size
                    + ") of dmabuf " + id + " lies outside its " + view.byteSize() + "-byte host view");
        }
        if (!ledger.add(token)) {
            throw new DevmemProtocolException("the kernel issued token " + token + " (dmabuf " + id
                    + ") while it is still outstanding on this socket");
        }
        batch.add(FragKind.DMABUF, id, offset, (int) size, position, token, view);
    }

    /** Undoes the ledger and slab entries of a half-parsed batch. */
    private void rollback(ReceiveBatch batch) {
        for (int i = 0; i < batch.size(); i++) {
            FragKind kind = batch.kind(i);
            if (kind == FragKind.DMABUF) {
                ledger.remove(batch.releaseKey(i));
            } else {
                pool.release(kind, batch.releaseKey(i));
            }
        }
        batch.clear();
    }

    private DevmemException recvError(int errno, long controlLen) {
        if (errno == ETOOSMALL) {
            return new DevmemProtocolException(RECV_OPERATION + " failed with ETOOSMALL (525): not one control"
                    + " message fitted in " + controlLen + " bytes of control space, though each needs only "
                    + CMSG_SPACE);
        }
        String explanation = switch (errno) {
            case 19 -> "a fragment was not a devmem net_iov (ENODEV from tcp_recvmsg_dmabuf)";
            case 14 -> "the kernel could not write the iov or control buffer";
            default -> null;
        };
        return new SyscallException(RECV_OPERATION, Errno.of(errno), explanation);
    }

    private void ensureUsable() throws DevmemException {
        if (closed.get()) {
            throw new SyscallException(RECV_OPERATION, Errno.EBADF, "the socket is closed");
        }
        if (broken != null) {
            throw new DevmemProtocolException("the socket stopped at an earlier protocol error: " + broken.getMessage());
        }
    }

    @Override
    public void release(FragKind kind, int releaseKey) throws DevmemException {
        if (closed.get()) {
            unknownReleases++;
            return;
        }
        if (kind == FragKind.DMABUF) {
            if (!ledger.remove(releaseKey)) {
                unknownReleases++;
                return;
            }
            if (batcher.add(releaseKey)) {
                batcher.flush(endpoint);
            }
        } else if (!pool.release(kind, releaseKey)) {
            unknownReleases++;
        }
    }

    @Override
    public int flushReleases() throws DevmemException {
        if (closed.get()) {
            return 0;
        }
        return batcher.flush(endpoint);
    }

    @Override
    public int outstanding() {
        return ledger.size() + pool.outstanding();
    }

    /** Released DMABUF tokens queued for the next DONTNEED flush. */
    public int pendingReleases() {
        return batcher.pending();
    }

    /** Host slabs pinned by unreleased LINEAR/HOST fragments. */
    public int hostSlabsInUse() {
        return pool.slabsInUse();
    }

    /** Stream offset of the next byte {@link #receive} will return. */
    public long streamPosition() {
        return streamPosition;
    }

    @Override
    public SocketStats stats() {
        return new SocketStats(recvCalls, bytesByKind, fragsByKind, ledger.size(), pool.outstanding(),
                batcher.calls(), batcher.returned(), unknownReleases, batcher.shortfall());
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

    /** {@code -1} when no host slab has room (only a release brings progress), else the endpoint's fd. */
    /** True while {@link #pollFd()} has nothing to poll: no host slab has room, or the NIC's buffers are all held. */
    @Override
    public boolean awaitsReleases() {
        return pollFd() < 0;
    }

    @Override
    public int pollFd() {
        if (closed.get() || !pool.hasSpace()) {
            return -1;
        }
        return endpoint.pollFd();
    }

    @Override
    public short pollEvents() {
        return endpoint.pollEvents();
    }

    /**
     * Closes the endpoint (the kernel frees every token still held, queued ones included), forgets
     * the ledger, reclaims the slabs and frees the native memory. Host fragments must not be read
     * after this: their memory is gone, and reading it throws {@link IllegalStateException}.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        try {
            endpoint.close();
        } finally {
            ledger.clear();
            batcher.discard();
            pool.reset();
            try {
                arena.close();
            } catch (IllegalStateException stillInUse) {
                // A host view is in use by a native call on another thread right now. The memory
                // cannot be freed under it; the arena stays allocated rather than risk a crash.
            }
        }
    }

    @Override
    public String toString() {
        return "DevmemSocket[" + endpoint + ", position " + streamPosition + ", outstanding " + outstanding() + "]";
    }
}
