package dev.devmem.ffm.emulated;

import dev.devmem.api.DevmemException;
import dev.devmem.api.Errno;
import dev.devmem.ffm.rx.PollSource;
import dev.devmem.ffm.rx.SocketEndpoint;
import dev.devmem.ffm.sys.Structs;
import dev.devmem.ffm.sys.Syscalls;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetSocketAddress;

import static dev.devmem.ffm.sys.LinuxConstants.*;

/**
 * One TCP socket as seen through an {@link EmulatedNic}: a {@link SocketEndpoint} that behaves as
 * the Linux 6.18 socket of a flow steered to a devmem rx queue.
 *
 * <p><b>Model.</b> The emulated NIC turns the bytes of a real kernel socket into emulated skbs: one
 * non-blocking read of the real socket (at most {@link EmulatedNicConfig#maxSkbSize()} bytes and
 * {@value EmulatedNicConfig#MAX_SKB_FRAGS} frags) goes, with one {@code recvmsg} and no copy,
 * straight into free rx buffers of the bound dmabuf; each buffer becomes one frag at the buffer's
 * start. A header-split failure (seeded, {@link EmulatedNicConfig#headerSplitFailureRate()}) puts the
 * first {@link EmulatedNicConfig#headerBufferSize()} bytes of the packet into the skb's linear (host)
 * area instead; a packet that fits there entirely has no frags and, as in the kernel, is ordinary
 * readable data. Skbs are built on demand, when the caller's receive reaches the end of the queue.
 *
 * <p><b>recvmsg</b> follows {@code tcp_recvmsg_locked} and {@code tcp_recvmsg_dmabuf}: stream order,
 * never readable and devmem skbs in one call, a LINEAR cmsg (bytes to the iov) then one DMABUF cmsg
 * per frag piece with a token = lowest free id, the iov length limiting consumption (a frag may be
 * taken in parts, each part with its own token), cmsgs never truncated ({@code put_cmsg_notrunc}: a
 * short read, or errno 525 when nothing was consumed; a NULL control buffer the same), EFAULT for
 * devmem data without {@code MSG_SOCK_DEVMEM}, {@code MSG_TRUNC} discarding without tokens,
 * {@code MSG_PEEK} issuing tokens without consuming. On success {@code msg_controllen},
 * {@code msg_flags} and {@code msg_namelen} are written back as {@code ____sys_recvmsg} does; on
 * failure nothing is. When the socket's queue has no dmabuf bound, the call goes to the real socket
 * unchanged: plain data, no cmsg, exactly the kernel's answer.
 *
 * <p><b>Pool starvation.</b> When the pool has no free buffer the endpoint does not read the real
 * socket (its receive window closes and the sender slows), returns {@code -EAGAIN}, counts a stall,
 * and {@link #pollFd()} becomes the queue's eventfd, signalled when buffers come back.
 *
 * <p>Rooms: the socket's {@link SkbQueue} (skbs, their linear areas and buffer references), the
 * caller's {@link UserMsghdr} during a call (iov cursor, whole-cmsg control buffer), its
 * {@link PacketSource} (a real socket or a synthetic stream), and its {@link EndpointCounters}
 * (mirrored into the NIC's). What stays here is the kernel's receive logic over them.
 *
 * <p>Used by one thread at a time, like a socket. {@link #stats()} may be read from any thread.
 */
public final class EmulatedEndpoint implements SocketEndpoint, PollSource {
    /** The kernel-internal errno of a control buffer too small for one cmsg. */
    public static final int ETOOSMALL = 525;
    private static final int MSG_OOB = 0x1;

    private static final int INGESTED = NicReceive.INGESTED;
    private static final int EOF = NicReceive.EOF;
    private static final int PLAIN = NicReceive.PLAIN;
    private static final int STALL = NicReceive.STALL;

    private final EmulatedNic nic;
    private final EmulatedQueue queue;
    private final PacketSource source;

    private final TokenTable tokens = new TokenTable();
    /** Buffers whose last reference this socket dropped, back to the pool once per operation. */
    private final BufferReturns returns = new BufferReturns(DONTNEED_MAX_FRAGS + EmulatedNicConfig.MAX_SKB_FRAGS);
    private final SkbQueue skbs;
    private final UserMsghdr user = new UserMsghdr();
    private final EndpointCounters counters;
    private final MemorySegment pollFds;
    private final NicReceive nicReceive;

    /** A real socket's error met behind queued data ({@code -errno}), for the next call that copies nothing; else 0. */
    private int pendingError;
    private volatile boolean closed;
    private volatile InetSocketAddress local;
    private volatile InetSocketAddress remote;

    /**
     * An endpoint over the real connected socket {@code fd}.
     *
     * @param local  the socket's address if already known, else {@code null} (asked when needed)
     * @param remote the peer's address if already known (from accept), else {@code null}
     */
    static EmulatedEndpoint ofSocket(EmulatedNic nic, EmulatedQueue queue, int fd, InetSocketAddress local,
                                     InetSocketAddress remote) throws DevmemException {
        Arena arena = Arena.ofAuto();
        return new EmulatedEndpoint(nic, queue, new WireSource(nic, fd, arena), arena, local, remote);
    }

    /** An endpoint with no socket, fed by {@code stream}. */
    static EmulatedEndpoint synthetic(EmulatedNic nic, EmulatedQueue queue, SyntheticStream stream) {
        Arena arena = Arena.ofAuto();
        return new EmulatedEndpoint(nic, queue, new SyntheticSource(stream, nic.config().maxSkbSize(), arena), arena,
                null, null);
    }

    private EmulatedEndpoint(EmulatedNic nic, EmulatedQueue queue, PacketSource source, Arena arena,
                             InetSocketAddress local, InetSocketAddress remote) {
        this.nic = nic;
        this.queue = queue;
        this.source = source;
        this.local = local;
        this.remote = remote;
        this.skbs = new SkbQueue(nic.config().headerBufferSize(), returns, arena);
        this.counters = new EndpointCounters(nic);
        this.nicReceive = new NicReceive(nic.config(), queue, source, skbs, returns, counters);
        this.pollFds = arena.allocate(Structs.POLLFD);
        nic.endpointOpened();
    }

    /** The emulated rx queue this flow was steered to. */
    public int rxQueue() {
        return queue.id;
    }

    /** The real kernel socket underneath, or -1 for a synthetic endpoint. */
    public int fd() {
        return source.fd();
    }

    public boolean isSynthetic() {
        return source instanceof SyntheticSource;
    }

    /** Tokens handed out on this socket and not yet returned. */
    public int tokensOutstanding() {
        return counters.tokensHeld();
    }

    /** A snapshot of this socket's counters. */
    public EmulatedEndpointStats stats() {
        return counters.snapshot(skbs.count());
    }

    // ------------------------------------------------------------------------------------ recvmsg

    @Override
    public long recvmsg(MemorySegment msghdr, int flags) {
        if (closed) {
            return -Errno.EBADF.number();
        }
        if ((flags & (MSG_ERRQUEUE | MSG_OOB)) != 0) {
            return source.receiveOther(msghdr, flags);
        }
        MemorySegment msg = msghdr.byteSize() >= Structs.MSGHDR.byteSize()
                ? msghdr : msghdr.reinterpret(Structs.MSGHDR.byteSize());
        boolean nonBlocking = !source.blocking() || (flags & MSG_DONTWAIT) != 0;
        while (true) {
            long r;
            try {
                r = receive(msghdr, msg, flags);
            } finally {
                skbs.settleTokenRefs();
                counters.endOfCall();
            }
            if (r != -Errno.EAGAIN.number() || nonBlocking || closed) {
                return r;
            }
            awaitReadable();
        }
    }

    private void awaitReadable() {
        pollFds.set(ValueLayout.JAVA_INT, Structs.POLLFD_FD, pollFd());
        pollFds.set(ValueLayout.JAVA_SHORT, Structs.POLLFD_EVENTS, POLLIN);
        pollFds.set(ValueLayout.JAVA_SHORT, Structs.POLLFD_REVENTS, (short) 0);
        Syscalls.poll(pollFds, 1, 200); // re-checks `closed` every 200 ms while a blocking caller waits
    }

    private long receive(MemorySegment msghdr, MemorySegment msg, int flags) {
        long len = user.open(msg);
        if (len < 0) {
            return len;
        }
        boolean peek = (flags & MSG_PEEK) != 0;
        boolean trunc = (flags & MSG_TRUNC) != 0;
        boolean devmem = (flags & MSG_SOCK_DEVMEM) != 0;
        long copied = 0;
        int lastCopiedDmabuf = -1;
        // The kernel's *seq as a cursor: skb idx in the queue and the offset in it. MSG_PEEK walks
        // past the head without consuming; otherwise idx stays 0 and finished skbs are eaten.
        int idx = 0;
        long off = skbs.count() > 0 ? skbs.at(0).consumed : 0;
        long dBytes = 0, lFrags = 0, lBytes = 0, pBytes = 0;
        long tokensIssuedHere = 0;

        while (len > 0) {
            if (idx >= skbs.count()) {
                if (pendingError != 0) {
                    // tcp_recvmsg_locked: with nothing copied, sock_error() returns sk_err and clears it
                    if (copied == 0) {
                        copied = pendingError;
                        pendingError = 0;
                    }
                    break;
                }
                int ing = nicReceive.ingest();
                if (ing == INGESTED) {
                    off = 0;
                    continue;
                }
                if (ing == PLAIN) {
                    if (copied > 0) {
                        break;
                    }
                    counters.recvCall();
                    long r = source.receivePlain(msghdr, msg, flags, len, user);
                    counters.plain(r);
                    user.close();
                    return r;
                }
                if (ing == STALL || ing == -Errno.EAGAIN.number()) {
                    if (copied == 0) {
                        copied = -Errno.EAGAIN.number();
                    }
                } else if (ing != EOF) {
                    // The real socket's error (ECONNRESET after a reset), which its recvmsg has just
                    // consumed. The kernel returns what this call copied and the error on the next
                    // call (copied && sk_err: break); a later read of the real socket would say 0.
                    if (copied == 0) {
                        copied = ing;
                    } else {
                        pendingError = ing;
                    }
                }
                break;
            }
            EmulatedSkb skb = skbs.at(idx);
            long offset = off;
            long used = Math.min(skb.len - offset, len);
            boolean unreadable = skb.nrFrags > 0;
            if (!trunc) {
                if (lastCopiedDmabuf != -1 && lastCopiedDmabuf != (unreadable ? 1 : 0)) {
                    break;
                }
                if (!unreadable) {
                    int n = user.copyToIov(skbs.linearSlab, skb.linearOffset() + offset, (int) used);
                    if (n != used) {
                        if (copied == 0) {
                            copied = -Errno.EFAULT.number();
                        }
                        break;
                    }
                    pBytes += used;
                } else {
                    if (!devmem) {
                        // dmabuf skbs can only be received with the MSG_SOCK_DEVMEM flag
                        if (copied == 0) {
                            copied = -Errno.EFAULT.number();
                        }
                        break;
                    }
                    int before = tokens.outstanding();
                    long r = DmabufRecv.receive(user, tokens, skbs.linearSlab, skb, offset, (int) used);
                    tokensIssuedHere += tokens.outstanding() - before;
                    if (r < 0) {
                        if (copied == 0) {
                            copied = r;
                        }
                        break;
                    }
                    long linearPart = Math.max(0, Math.min(skb.headLen - offset, r));
                    if (linearPart > 0) {
                        lFrags++;
                        lBytes += linearPart;
                    }
                    dBytes += r - linearPart;
                    used = r;
                }
            }
            lastCopiedDmabuf = unreadable ? 1 : 0;
            copied += used;
            len -= used;
            off = offset + used;
            if (!peek) {
                skb.consumed = off;
            }
            if (off < skb.len) {
                // Not all of the skb: either the iov is full (len == 0, the loop ends) or the next
                // cmsg did not fit. The kernel then loops to the same skb, whose next
                // tcp_recvmsg_dmabuf fails on that same cmsg with nothing sent: the call ends here.
                break;
            }
            if (peek) {
                idx++;
            } else {
                skbs.eatHead();
            }
            off = 0;
        }
        counters.recvCall();
        counters.delivered(tokensIssuedHere, tokens.outstanding(), dBytes, lFrags, lBytes, pBytes);
        if (copied >= 0) {
            user.writeBack(msg, flags); // ____sys_recvmsg: written back on success only
        }
        user.close();
        return copied;
    }

    // --------------------------------------------------------------------------------- sockopts

    /**
     * {@code SOL_SOCKET/SO_DEVMEM_DONTNEED} is answered here with the kernel's checks in the kernel's
     * order ({@code sk_setsockopt}: optlen &lt; 4 EINVAL, first word unreadable EFAULT; then
     * {@code sock_devmem_dontneed}: optlen % 8 or &gt; 1024 EINVAL, unreadable EFAULT, at most 1024
     * token ids inspected, existing or not; returns the count freed). Every other option goes to the
     * real socket (so its errors, e.g. ENOPROTOOPT for the other SO_DEVMEM_*, are the kernel's).
     */
    @Override
    public int setsockopt(int level, int name, MemorySegment value, int len) {
        if (closed) {
            return -Errno.EBADF.number();
        }
        if (level == SOL_SOCKET && name == SO_DEVMEM_DONTNEED) {
            return dontneed(value, len);
        }
        return source.setsockopt(level, name, value, len);
    }

    private int dontneed(MemorySegment value, int optlen) {
        int freed = Dontneed.apply(tokens, returns, value, optlen);
        if (freed > 0) {
            counters.released(freed, tokens.outstanding());
        }
        return freed;
    }

    @Override
    public int getsockopt(int level, int name, MemorySegment value, MemorySegment len) {
        if (closed) {
            return -Errno.EBADF.number();
        }
        return source.getsockopt(level, name, value, len);
    }

    // ----------------------------------------------------------------------------------- the rest

    /**
     * {@code sendmsg}: devmem TX as the kernel does it, see {@link EmulatedTx}. A send that names no
     * TX binding (no cmsg, or id 0) goes to the real socket unchanged; a synthetic endpoint answers EPIPE.
     */
    @Override
    public long sendmsg(MemorySegment msghdr, int flags) {
        if (closed) {
            return -Errno.EBADF.number();
        }
        return source.sendmsg(msghdr, flags);
    }

    /** Devmem sends (a TX binding id in the cmsg) that took bytes on this socket. */
    public long devmemSends() {
        EmulatedTx tx = source.tx();
        return tx == null ? 0 : tx.devmemSends;
    }

    /** Bytes those devmem sends took from their dmabufs. */
    public long devmemBytesSent() {
        EmulatedTx tx = source.tx();
        return tx == null ? 0 : tx.devmemBytes;
    }

    /** Send numbers the real socket spent (devmem and ordinary MSG_ZEROCOPY sends). */
    public long zerocopySends() {
        EmulatedTx tx = source.tx();
        return tx == null ? 0 : tx.zerocopySends;
    }

    /** Zerocopy notices whose COPIED code was cleared because their first send was a devmem send. */
    public long noticesRewritten() {
        EmulatedTx tx = source.tx();
        return tx == null ? 0 : tx.noticesRewritten;
    }

    @Override
    public int shutdown(int how) {
        if (closed) {
            return -Errno.EBADF.number();
        }
        return source.shutdown(how);
    }

    /**
     * The real socket's fd; while the last receive stalled on an empty buffer pool, the queue's
     * eventfd (signalled when buffers come back or the dmabuf is unbound); -1 for a synthetic
     * endpoint that is not stalled (it always has data) or a closed one.
     */
    @Override
    public int pollFd() {
        if (closed) {
            return -1;
        }
        return nicReceive.stalled() ? queue.eventFd : source.pollFd();
    }

    @Override
    public short pollEvents() {
        return POLLIN;
    }

    /** {@code getsockname}, cached; {@code null} if the kernel cannot say (closed); loopback:0 for a synthetic endpoint. */
    @Override
    public InetSocketAddress localAddress() {
        InetSocketAddress a = local;
        if (a == null) {
            a = local = address(true);
        }
        return a;
    }

    /**
     * The address accept reported, else {@code getpeername}, cached; {@code null} if the kernel
     * cannot say (reset before it was asked, closed); loopback:0 for a synthetic endpoint.
     */
    @Override
    public InetSocketAddress remoteAddress() {
        InetSocketAddress a = remote;
        if (a == null) {
            a = remote = address(false);
        }
        return a;
    }

    private InetSocketAddress address(boolean localSide) {
        return source.address(localSide);
    }

    /** Destroys the socket: every outstanding token and queued skb lets go of its buffer (as the kernel does), then the fd closes. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        int released;
        try {
            released = tokens.clear(returns);
        } finally {
            returns.flush();
        }
        counters.released(released, 0);
        skbs.clear();
        source.close();
        nic.endpointClosed();
    }

    @Override
    public String toString() {
        return "EmulatedEndpoint[" + (isSynthetic() ? source : "fd " + source.fd()) + " on "
                + nic.config().interfaceName() + " rx queue " + queue.id + "]";
    }
}
