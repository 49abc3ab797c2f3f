package dev.devmem.ffm.emulated;

import dev.devmem.api.DevmemException;
import dev.devmem.api.Errno;
import dev.devmem.api.SyscallException;
import dev.devmem.ffm.rx.PollSource;
import dev.devmem.ffm.rx.SocketEndpoint;
import dev.devmem.ffm.sys.Structs;
import dev.devmem.ffm.sys.Syscalls;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.SplittableRandom;

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
 * <p>Used by one thread at a time, like a socket. {@link #stats()} may be read from any thread.
 */
public final class EmulatedEndpoint implements SocketEndpoint, PollSource {
    /** The kernel-internal errno of a control buffer too small for one cmsg. */
    public static final int ETOOSMALL = 525;
    private static final int UIO_MAXIOV = 1024;
    private static final int MSG_OOB = 0x1;
    private static final int LINEAR_SLOTS = 64;
    private static final int CMSG_SPACE = Structs.DEVMEM_CMSG_SPACE; // 40 = CMSG_LEN(24) = CMSG_SPACE(24)

    private static final int INGESTED = 1;
    private static final int EOF = 0;
    private static final int PLAIN = Integer.MIN_VALUE;
    private static final int STALL = Integer.MIN_VALUE + 1;

    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED;

    private final EmulatedNic nic;
    private final EmulatedQueue queue;
    private final int fd;
    private final SyntheticStream synthetic;
    private final boolean blocking;
    private final int fragSize;
    private final int maxSkbSize;
    /** Rx buffers one skb takes at most: maxSkbSize in frags, capped at MAX_SKB_FRAGS. */
    private final int skbFrags;
    private final int headerBufferSize;
    private final double splitFailureRate;
    private final SplittableRandom rng;

    private final TokenTable tokens = new TokenTable();
    /** Buffers whose last reference this socket dropped, back to the pool once per operation. */
    private final BufferReturns returns = new BufferReturns(DONTNEED_MAX_FRAGS + EmulatedNicConfig.MAX_SKB_FRAGS);
    private final EmulatedTx tx;
    private Skb[] ring = new Skb[16]; // a power of two
    private int ringHead;
    private int ringCount;
    private Skb spare;

    private final MemorySegment readMsg;
    private final MemorySegment readIov;
    private final MemorySegment pollFds;
    private final MemorySegment linearSlab;
    private final int[] linearFree = new int[LINEAR_SLOTS];
    private int linearFreeCount;
    private final int[] taken = new int[EmulatedNicConfig.MAX_SKB_FRAGS];

    // the caller's iov during one recvmsg
    private long[] iovBase = new long[8];
    private long[] iovLen = new long[8];
    private int iovCount;
    private int iovIdx;
    private long iovOff;
    // the caller's control buffer during one recvmsg
    private MemorySegment control;
    private long controlLen;
    private long controlUsed;
    // The caller's control buffer and iovec array of the last call, as segments: a receive engine
    // passes the same native buffers on every call, and making a segment per call for them is
    // measurable. Reused only for the same address and at most the same length.
    private MemorySegment lastControl = MemorySegment.NULL;
    private MemorySegment lastIovArray = MemorySegment.NULL;

    private long streamIngested;
    private static final int PATTERN_SLAB = 64 << 10;
    private MemorySegment patternSlab; // the synthetic pattern from stream position 0, made on first use
    /** A real socket's error met behind queued data ({@code -errno}), for the next call that copies nothing; else 0. */
    private int pendingError;
    private volatile boolean stalled;
    private volatile boolean closed;
    private volatile InetSocketAddress local;
    private volatile InetSocketAddress remote;

    // counters: written by the owning thread, read by anyone
    private volatile long recvCalls;
    private volatile long stallCount;
    private volatile long splitFailures;
    private volatile long skbCount;
    /** Skbs built in the current recvmsg, added to the counters when it returns (not one volatile write and CAS per skb). */
    private long skbsThisCall;
    private volatile long dmabufFragCount;
    private volatile long dmabufByteCount;
    private volatile long linearFragCount;
    private volatile long linearByteCount;
    private volatile long plainByteCount;
    private volatile long tokensIssuedCount;
    private volatile long tokensReleasedCount;
    private volatile int tokensHeld;

    /**
     * @param local  the socket's address if already known, else {@code null} (asked when needed)
     * @param remote the peer's address if already known (from accept), else {@code null}
     */
    EmulatedEndpoint(EmulatedNic nic, EmulatedQueue queue, int fd, SyntheticStream synthetic, InetSocketAddress local,
                     InetSocketAddress remote) throws DevmemException {
        this.local = local;
        this.remote = remote;
        this.nic = nic;
        this.queue = queue;
        this.fd = fd;
        this.synthetic = synthetic;
        EmulatedNicConfig cfg = nic.config();
        this.fragSize = cfg.fragSize();
        this.maxSkbSize = cfg.maxSkbSize();
        this.skbFrags = (int) Math.min(EmulatedNicConfig.MAX_SKB_FRAGS, (maxSkbSize + (long) fragSize - 1) / fragSize);
        this.headerBufferSize = cfg.headerBufferSize();
        this.splitFailureRate = cfg.headerSplitFailureRate();
        this.rng = new SplittableRandom(cfg.seed());
        if (fd >= 0) {
            int fl = Syscalls.fcntl(fd, F_GETFL, 0);
            if (fl < 0) {
                throw new SyscallException("fcntl(F_GETFL) of fd " + fd, Errno.of(-fl));
            }
            this.blocking = (fl & O_NONBLOCK) == 0;
        } else {
            this.blocking = false;
        }
        Arena arena = Arena.ofAuto();
        this.readMsg = arena.allocate(Structs.MSGHDR);
        this.readIov = arena.allocate(Structs.IOVEC.byteSize() * (1 + EmulatedNicConfig.MAX_SKB_FRAGS), 8);
        this.pollFds = arena.allocate(Structs.POLLFD);
        this.linearSlab = arena.allocate((long) headerBufferSize * LINEAR_SLOTS, 8);
        for (int i = 0; i < LINEAR_SLOTS; i++) {
            linearFree[i] = LINEAR_SLOTS - 1 - i;
        }
        linearFreeCount = LINEAR_SLOTS;
        readMsg.set(ValueLayout.ADDRESS, Structs.MSGHDR_IOV, readIov);
        this.tx = fd >= 0 ? new EmulatedTx(nic, fd) : null;
        nic.endpointOpened();
    }

    /** The emulated rx queue this flow was steered to. */
    public int rxQueue() {
        return queue.id;
    }

    /** The real kernel socket underneath, or -1 for a synthetic endpoint. */
    public int fd() {
        return fd;
    }

    public boolean isSynthetic() {
        return synthetic != null;
    }

    /** Tokens handed out on this socket and not yet returned. */
    public int tokensOutstanding() {
        return tokensHeld;
    }

    /** A snapshot of this socket's counters. */
    public EmulatedEndpointStats stats() {
        return new EmulatedEndpointStats(recvCalls, tokensHeld, tokensIssuedCount, tokensReleasedCount, stallCount,
                splitFailures, skbCount, dmabufFragCount, dmabufByteCount, linearFragCount, linearByteCount,
                plainByteCount, ringCount);
    }

    // ------------------------------------------------------------------------------------ recvmsg

    @Override
    public long recvmsg(MemorySegment msghdr, int flags) {
        if (closed) {
            return -Errno.EBADF.number();
        }
        if ((flags & (MSG_ERRQUEUE | MSG_OOB)) != 0) {
            if (fd >= 0) {
                long r = Syscalls.recvmsg(fd, msghdr, flags);
                if (r >= 0 && (flags & MSG_ERRQUEUE) != 0) {
                    tx.afterErrqueue(msghdr);
                }
                return r;
            }
            return (flags & MSG_ERRQUEUE) != 0 ? -Errno.EAGAIN.number() : -Errno.EINVAL.number();
        }
        MemorySegment msg = msghdr.byteSize() >= Structs.MSGHDR.byteSize()
                ? msghdr : msghdr.reinterpret(Structs.MSGHDR.byteSize());
        boolean nonBlocking = !blocking || (flags & MSG_DONTWAIT) != 0;
        while (true) {
            long r;
            try {
                r = receive(msghdr, msg, flags);
            } finally {
                settleTokenRefs();
                if (skbsThisCall > 0) {
                    skbCount += skbsThisCall;
                    nic.skbs.add(skbsThisCall);
                    skbsThisCall = 0;
                }
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
        long iovPtr = msg.get(ValueLayout.JAVA_LONG, Structs.MSGHDR_IOV);
        long iovLenCount = msg.get(ValueLayout.JAVA_LONG, Structs.MSGHDR_IOVLEN);
        if (iovLenCount < 0 || iovLenCount > UIO_MAXIOV) {
            return -Errno.EMSGSIZE.number();
        }
        if (iovLenCount > 0 && iovPtr == 0) {
            return -Errno.EFAULT.number();
        }
        long len = loadIov(iovPtr, (int) iovLenCount);
        if (len < 0) {
            return -Errno.EINVAL.number();
        }
        long ctrlPtr = msg.get(ValueLayout.JAVA_LONG, Structs.MSGHDR_CONTROL);
        controlLen = ctrlPtr == 0 ? 0 : msg.get(ValueLayout.JAVA_LONG, Structs.MSGHDR_CONTROLLEN);
        control = ctrlPtr == 0 ? null : controlSegment(ctrlPtr, controlLen);
        controlUsed = 0;

        boolean peek = (flags & MSG_PEEK) != 0;
        boolean trunc = (flags & MSG_TRUNC) != 0;
        boolean devmem = (flags & MSG_SOCK_DEVMEM) != 0;
        long copied = 0;
        int lastCopiedDmabuf = -1;
        // The kernel's *seq as a cursor: skb idx in the queue and the offset in it. MSG_PEEK walks
        // past the head without consuming; otherwise idx stays 0 and finished skbs are eaten.
        int idx = 0;
        long off = ringCount > 0 ? skbAt(0).consumed : 0;
        long dBytes = 0, lFrags = 0, lBytes = 0, pBytes = 0;
        long tokensIssuedHere = 0;

        while (len > 0) {
            if (idx >= ringCount) {
                if (pendingError != 0) {
                    // tcp_recvmsg_locked: with nothing copied, sock_error() returns sk_err and clears it
                    if (copied == 0) {
                        copied = pendingError;
                        pendingError = 0;
                    }
                    break;
                }
                int ing = ingest();
                if (ing == INGESTED) {
                    off = 0;
                    continue;
                }
                if (ing == PLAIN) {
                    if (copied > 0) {
                        break;
                    }
                    recvCalls++;
                    long r = fd >= 0 ? Syscalls.recvmsg(fd, msghdr, flags) : syntheticPlain(msg, flags, len);
                    if (r > 0) {
                        plainByteCount += r;
                        nic.plainBytes.add(r);
                    }
                    control = null;
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
            Skb skb = skbAt(idx);
            long offset = off;
            long used = Math.min(skb.len - offset, len);
            boolean unreadable = skb.nrFrags > 0;
            if (!trunc) {
                if (lastCopiedDmabuf != -1 && lastCopiedDmabuf != (unreadable ? 1 : 0)) {
                    break;
                }
                if (!unreadable) {
                    int n = copyToIov(linearSlab, skb.linearOffset() + offset, (int) used);
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
                    long r = recvmsgDmabuf(skb, offset, (int) used);
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
                eatHead();
            }
            off = 0;
        }
        long dFrags = tokensIssuedHere;
        recvCalls++;
        if (tokensIssuedHere > 0) {
            tokensIssuedCount += tokensIssuedHere;
            tokensHeld = tokens.outstanding();
            nic.tokensIssued.add(tokensIssuedHere);
        }
        if (dFrags > 0) {
            dmabufFragCount += dFrags;
            dmabufByteCount += dBytes;
            nic.dmabufFrags.add(dFrags);
            nic.dmabufBytes.add(dBytes);
        }
        if (lFrags > 0) {
            linearFragCount += lFrags;
            linearByteCount += lBytes;
            nic.linearFrags.add(lFrags);
            nic.linearBytes.add(lBytes);
        }
        if (pBytes > 0) {
            plainByteCount += pBytes;
            nic.plainBytes.add(pBytes);
        }
        if (copied >= 0) {
            // ____sys_recvmsg: written back on success only
            msg.set(ValueLayout.JAVA_LONG, Structs.MSGHDR_CONTROLLEN, controlUsed);
            msg.set(ValueLayout.JAVA_INT, Structs.MSGHDR_FLAGS, flags & MSG_CMSG_CLOEXEC);
            if (msg.get(ValueLayout.JAVA_LONG, Structs.MSGHDR_NAME) != 0) {
                msg.set(ValueLayout.JAVA_INT, Structs.MSGHDR_NAMELEN, 0);
            }
        }
        control = null;
        return copied;
    }

    /**
     * {@code tcp_recvmsg_dmabuf}: the linear part to the iov with one LINEAR cmsg, then one DMABUF
     * cmsg per frag piece. Returns the bytes reported, or a negative errno when none were.
     */
    private long recvmsgDmabuf(Skb skb, long offset, int remaining) {
        long sent = 0;
        int err = 0;
        long start = skb.headLen;
        long copy = start - offset;
        if (copy > 0) {
            copy = Math.min(copy, remaining);
            int n = copyToIov(linearSlab, skb.linearOffset() + offset, (int) copy);
            if (n != copy) {
                return sent > 0 ? sent : -Errno.EFAULT.number();
            }
            offset += copy;
            remaining -= (int) copy;
            if (!putCmsg(SCM_DEVMEM_LINEAR, 0L, (int) copy, 0, 0)) {
                return -ETOOSMALL;
            }
            sent += copy;
            if (remaining == 0) {
                return sent;
            }
        }
        skb.pendingRefs = true;
        for (int i = 0; i < skb.nrFrags; i++) {
            long end = start + skb.fragLen[i];
            copy = end - offset;
            if (copy > 0) {
                copy = Math.min(copy, remaining);
                long fragOffset = skb.binding.bufferOffset(skb.frag[i]) + (offset - start);
                int token = tokens.allocate(skb.binding, skb.frag[i]);
                if (token < 0) {
                    err = -Errno.EBUSY.number(); // __xa_alloc with all 2^31-1 ids held
                    break;
                }
                offset += copy;
                remaining -= (int) copy;
                if (!putCmsg(SCM_DEVMEM_DMABUF, fragOffset, (int) copy, token, skb.binding.id())) {
                    tokens.unallocate(token); // the kernel's xa_erase when put_cmsg_notrunc fails
                    err = -ETOOSMALL;
                    break;
                }
                skb.tokenRefs[i]++; // the buffer reference of this token: see settleTokenRefs
                sent += copy;
                if (remaining == 0) {
                    break;
                }
            }
            start = end;
        }
        if (err == 0 && remaining > 0 && sent == 0) {
            err = -Errno.EFAULT.number();
        }
        return sent > 0 ? sent : err;
    }

    /** {@code put_cmsg_notrunc} of one {@code struct dmabuf_cmsg}; false (ETOOSMALL) when it does not fit whole. */
    private boolean putCmsg(int type, long fragOffset, int fragSize, int token, int dmabufId) {
        if (control == null || controlLen - controlUsed < CMSG_SPACE) {
            return false;
        }
        MemorySegment c = control;
        long o = controlUsed;
        c.set(U64, o + Structs.CMSG_LEN, CMSG_SPACE);
        c.set(U32, o + Structs.CMSG_LEVEL, SOL_SOCKET);
        c.set(U32, o + Structs.CMSG_TYPE, type);
        long d = o + Structs.CMSGHDR.byteSize();
        c.set(U64, d + Structs.DMABUF_CMSG_FRAG_OFFSET, fragOffset);
        c.set(U32, d + Structs.DMABUF_CMSG_FRAG_SIZE, fragSize);
        c.set(U32, d + Structs.DMABUF_CMSG_FRAG_TOKEN, token);
        c.set(U32, d + Structs.DMABUF_CMSG_DMABUF_ID, dmabufId);
        c.set(U32, d + Structs.DMABUF_CMSG_FLAGS, 0);
        controlUsed = o + CMSG_SPACE;
        return true;
    }

    /**
     * The caller's control buffer {@code [ptr, ptr + len)}; the previous call's segment when it is the
     * same buffer (writes stay within {@code controlLen} of this call: {@link #putCmsg} checks it).
     */
    private MemorySegment controlSegment(long ptr, long len) {
        MemorySegment c = lastControl;
        if (c.address() == ptr && len >= 0 && len <= c.byteSize()) {
            return c;
        }
        c = MemorySegment.ofAddress(ptr).reinterpret(len);
        lastControl = c;
        return c;
    }

    /** Reads the caller's iovec array; returns the total length, or -1 when it overflows. */
    private long loadIov(long iovPtr, int count) {
        if (iovBase.length < count) {
            iovBase = new long[Math.max(count, iovBase.length * 2)];
            iovLen = new long[iovBase.length];
        }
        long total = 0;
        if (count > 0) {
            MemorySegment iov = lastIovArray;
            long bytes = count * Structs.IOVEC.byteSize();
            if (iov.address() != iovPtr || iov.byteSize() < bytes) {
                iov = MemorySegment.ofAddress(iovPtr).reinterpret(bytes);
                lastIovArray = iov;
            }
            for (int i = 0; i < count; i++) {
                long o = i * Structs.IOVEC.byteSize();
                iovBase[i] = iov.get(ValueLayout.JAVA_LONG, o + Structs.IOVEC_BASE);
                iovLen[i] = iov.get(ValueLayout.JAVA_LONG, o + Structs.IOVEC_LEN);
                if (iovLen[i] < 0) {
                    return -1;
                }
                total += iovLen[i];
                if (total < 0) {
                    return -1;
                }
            }
        }
        iovCount = count;
        iovIdx = 0;
        iovOff = 0;
        return Math.min(total, 0x7FFF_F000L); // MAX_RW_COUNT
    }

    /** {@code copy_to_iter}: copies up to {@code n} bytes into the iov at its cursor; returns how many. */
    private int copyToIov(MemorySegment src, long srcOffset, int n) {
        int done = 0;
        while (done < n && iovIdx < iovCount) {
            long room = iovLen[iovIdx] - iovOff;
            if (room == 0) {
                iovIdx++;
                iovOff = 0;
                continue;
            }
            if (iovBase[iovIdx] == 0) {
                break; // a fault in the kernel
            }
            int chunk = (int) Math.min(room, n - done);
            MemorySegment dst = MemorySegment.ofAddress(iovBase[iovIdx] + iovOff).reinterpret(chunk);
            MemorySegment.copy(src, srcOffset + done, dst, 0, chunk);
            done += chunk;
            iovOff += chunk;
        }
        return done;
    }

    // ------------------------------------------------------------------------------------- ingest

    /**
     * The NIC receives one packet for this flow into a new skb at the tail of the queue. Returns
     * {@link #INGESTED}, {@link #EOF}, {@link #PLAIN} (the queue has no dmabuf: the data is ordinary),
     * {@link #STALL} (no free rx buffer), or a negative errno of the real socket.
     */
    private int ingest() {
        EmulatedRxBinding b = queue.binding();
        if (b == null) {
            return PLAIN;
        }
        if (synthetic != null && synthetic.totalBytes() >= 0 && streamIngested >= synthetic.totalBytes()) {
            return EOF;
        }
        int n = b.take(taken, skbFrags, queue);
        if (n < 0) {
            return queue.binding() == null ? PLAIN : ingest(); // unbound under us: look again
        }
        if (n == 0) {
            stalled = true;
            stallCount++;
            nic.stalls.add(1);
            return STALL;
        }
        if (stalled) {
            stalled = false;
        }
        boolean failSplit = splitFailureRate > 0 && rng.nextDouble() < splitFailureRate && linearFreeCount > 0;
        int linearCap = failSplit ? Math.min(headerBufferSize, maxSkbSize) : 0;
        int slot = failSplit ? linearFree[--linearFreeCount] : -1;
        long linearAt = slot < 0 ? 0 : (long) slot * headerBufferSize;
        long capacity = Math.min(maxSkbSize, linearCap + (long) n * fragSize);

        long got;
        if (synthetic == null) {
            long iovAddr = readIov.address();
            int iovs = 0;
            long left = capacity;
            if (linearCap > 0) {
                setIov(iovs++, linearSlab.address() + linearAt, linearCap);
                left -= linearCap;
            }
            for (int i = 0; i < n && left > 0; i++) {
                long l = Math.min(fragSize, left);
                setIov(iovs++, b.memory().address() + b.bufferOffset(taken[i]), l);
                left -= l;
            }
            readMsg.set(ValueLayout.JAVA_LONG, Structs.MSGHDR_IOVLEN, iovs);
            assert iovAddr == readIov.address();
            got = Syscalls.recvmsg(fd, readMsg, MSG_DONTWAIT);
        } else {
            got = synthetic.totalBytes() < 0 ? capacity : Math.min(capacity, synthetic.totalBytes() - streamIngested);
            if (synthetic.writePattern()) {
                writePattern(b, linearAt, linearCap, n, got);
            }
        }
        if (got <= 0) {
            for (int i = 0; i < n; i++) {
                returns.drop(b, taken[i]);
            }
            returns.flush();
            if (slot >= 0) {
                linearFree[linearFreeCount++] = slot;
            }
            return got == 0 ? EOF : (int) got;
        }
        Skb skb = newSkb();
        skb.binding = b;
        skb.linearSlot = slot;
        skb.headLen = (int) Math.min(got, linearCap);
        long rest = got - skb.headLen;
        int frags = 0;
        for (int i = 0; i < n; i++) {
            if (rest > 0) {
                int l = (int) Math.min(fragSize, rest);
                skb.frag[frags] = taken[i];
                skb.fragLen[frags] = l;
                frags++;
                rest -= l;
            } else {
                returns.drop(b, taken[i]); // not filled: straight back to the pool
            }
        }
        returns.flush();
        skb.nrFrags = frags;
        skb.len = got;
        skb.consumed = 0;
        if (frags == 0) {
            skb.binding = null; // only linear bytes: a readable skb
        }
        if (failSplit) {
            splitFailures++;
            nic.headerSplitFailures.add(1);
        }
        streamIngested += got;
        skbsThisCall++;
        append(skb);
        return INGESTED;
    }

    private void setIov(int i, long base, long len) {
        long o = i * Structs.IOVEC.byteSize();
        readIov.set(ValueLayout.JAVA_LONG, o + Structs.IOVEC_BASE, base);
        readIov.set(ValueLayout.JAVA_LONG, o + Structs.IOVEC_LEN, len);
    }

    private void writePattern(EmulatedRxBinding b, long linearAt, int linearCap, int n, long got) {
        long pos = streamIngested;
        long left = got;
        long inLinear = Math.min(linearCap, left);
        copyPattern(pos, linearSlab, linearAt, inLinear);
        pos += inLinear;
        left -= inLinear;
        MemorySegment mem = b.memory();
        for (int f = 0; f < n && left > 0; f++) {
            long l = Math.min(fragSize, left);
            copyPattern(pos, mem, b.bufferOffset(taken[f]), l);
            pos += l;
            left -= l;
        }
    }

    /** Writes the pattern for stream bytes [pos, pos + len) at {@code dst[at]}, in bulk copies. */
    private void copyPattern(long pos, MemorySegment dst, long at, long len) {
        if (patternSlab == null) {
            patternSlab = Arena.ofAuto().allocate(PATTERN_SLAB + 7);
            for (int i = 0; i < PATTERN_SLAB + 7; i++) {
                patternSlab.set(ValueLayout.JAVA_BYTE, i, SyntheticStream.patternByte(i));
            }
        }
        while (len > 0) {
            long chunk = Math.min(len, PATTERN_SLAB);
            MemorySegment.copy(patternSlab, pos % 7, dst, at, chunk);
            pos += chunk;
            at += chunk;
            len -= chunk;
        }
    }

    /** A synthetic flow on a queue without a dmabuf: ordinary bytes into the iov. */
    private long syntheticPlain(MemorySegment msg, int flags, long len) {
        long n = len;
        if (synthetic.totalBytes() >= 0) {
            n = Math.min(n, synthetic.totalBytes() - streamIngested);
        }
        n = Math.min(n, maxSkbSize);
        if (n <= 0) {
            n = 0;
        } else if ((flags & MSG_TRUNC) == 0) {
            MemorySegment one = linearSlab.asSlice(0, 1);
            long pos = streamIngested;
            for (long i = 0; i < n; i++) {
                one.set(ValueLayout.JAVA_BYTE, 0, synthetic.writePattern() ? SyntheticStream.patternByte(pos + i) : 0);
                if (copyToIov(one, 0, 1) != 1) {
                    if (i == 0) {
                        return -Errno.EFAULT.number();
                    }
                    n = i;
                    break;
                }
            }
        }
        if ((flags & MSG_PEEK) == 0) {
            streamIngested += n;
        }
        msg.set(ValueLayout.JAVA_LONG, Structs.MSGHDR_CONTROLLEN, 0L);
        msg.set(ValueLayout.JAVA_INT, Structs.MSGHDR_FLAGS, flags & MSG_CMSG_CLOEXEC);
        return n;
    }

    // ---------------------------------------------------------------------------------- skb queue

    private Skb newSkb() {
        Skb s = spare;
        if (s != null) {
            spare = null;
            return s;
        }
        return new Skb(headerBufferSize);
    }

    private void append(Skb skb) {
        if (ringCount == ring.length) {
            Skb[] bigger = new Skb[ring.length * 2];
            for (int i = 0; i < ringCount; i++) {
                bigger[i] = ring[(ringHead + i) & (ring.length - 1)];
            }
            ring = bigger;
            ringHead = 0;
        }
        ring[(ringHead + ringCount) & (ring.length - 1)] = skb;
        ringCount++;
    }

    private Skb skbAt(int i) {
        return ring[(ringHead + i) & (ring.length - 1)];
    }

    /**
     * Applies the buffer references of the tokens the last call issued for frags of skbs that are
     * still queued (a partly consumed head, or skbs walked with {@code MSG_PEEK}).
     *
     * <p>Why references are deferred: in {@code tcp_recvmsg_dmabuf} each token takes a reference on
     * its net_iov and eating the skb drops the skb's one: two updates of the buffer's count per frag
     * that cancel out, each a random access into the pool's count array. Here a token's reference is
     * counted in its skb during the call and applied when the skb is eaten ({@link #free}) or, for
     * skbs that stay queued, before the call returns. Nothing else can touch these buffers meanwhile
     * (their references all belong to this socket, and the calling thread is inside recvmsg), so at
     * every return from recvmsg the counts are exactly the kernel's.
     */
    private void settleTokenRefs() {
        for (int k = 0; k < ringCount; k++) {
            Skb skb = skbAt(k);
            if (!skb.pendingRefs) {
                continue;
            }
            for (int i = 0; i < skb.nrFrags; i++) {
                int n = skb.tokenRefs[i];
                if (n > 0) {
                    skb.tokenRefs[i] = 0;
                    skb.binding.ref(skb.frag[i], n);
                }
            }
            skb.pendingRefs = false;
        }
    }

    /** {@code tcp_eat_recv_skb}: frees the head skb, dropping its buffer references. */
    private void eatHead() {
        Skb skb = ring[ringHead];
        ring[ringHead] = null;
        ringHead = (ringHead + 1) & (ring.length - 1);
        ringCount--;
        free(skb);
    }

    /**
     * Frees a consumed skb: each frag loses the skb's reference and gains those of the tokens this
     * call issued for it, in one update per frag, or none when the two cancel out (one token
     * per frag, the common case: the token takes over the skb's reference).
     */
    private void free(Skb skb) {
        EmulatedRxBinding b = skb.binding;
        for (int i = 0; i < skb.nrFrags; i++) {
            int delta = skb.tokenRefs[i] - 1;
            skb.tokenRefs[i] = 0;
            if (delta < 0) {
                returns.drop(b, skb.frag[i]);
            } else if (delta > 0) {
                b.ref(skb.frag[i], delta);
            }
        }
        skb.pendingRefs = false;
        returns.flush();
        if (skb.linearSlot >= 0) {
            linearFree[linearFreeCount++] = skb.linearSlot;
        }
        skb.reset();
        spare = skb;
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
        if (fd < 0) {
            return -Errno.ENOPROTOOPT.number();
        }
        int r = Syscalls.setsockopt(fd, level, name, value, len);
        tx.afterSetsockopt(level, name, r);
        return r;
    }

    private int dontneed(MemorySegment value, int optlen) {
        if (optlen < 4) {
            return -Errno.EINVAL.number();
        }
        MemorySegment v = readable(value, 4);
        if (v == null) {
            return -Errno.EFAULT.number();
        }
        // sk_is_tcp(): always true here, so never EBADF
        if (optlen % Structs.DMABUF_TOKEN.byteSize() != 0 || optlen > 128 * Structs.DMABUF_TOKEN.byteSize()) {
            return -Errno.EINVAL.number();
        }
        v = readable(value, optlen);
        if (v == null) {
            return -Errno.EFAULT.number();
        }
        int ranges = optlen / (int) Structs.DMABUF_TOKEN.byteSize();
        int freed = 0;
        int inspected = 0;
        try {
            outer:
            for (int i = 0; i < ranges; i++) {
                long o = i * Structs.DMABUF_TOKEN.byteSize();
                long start = Integer.toUnsignedLong(v.get(U32, o + Structs.DMABUF_TOKEN_START));
                long count = Integer.toUnsignedLong(v.get(U32, o + Structs.DMABUF_TOKEN_COUNT));
                for (long j = 0; j < count; j++) {
                    if (++inspected > DONTNEED_MAX_FRAGS) {
                        break outer;
                    }
                    if (tokens.erase((start + j) & 0xFFFF_FFFFL, returns)) {
                        freed++;
                    }
                }
            }
        } finally {
            returns.flush(); // the buffers that reached zero go back to the pool in one lock
        }
        if (freed > 0) {
            tokensReleasedCount += freed;
            tokensHeld = tokens.outstanding();
            nic.tokensReleased.add(freed);
        }
        return freed;
    }

    private static MemorySegment readable(MemorySegment value, int len) {
        if (value == null || value.address() == 0) {
            return null;
        }
        if (value.byteSize() == 0) {
            return value.reinterpret(len); // a bare pointer, as the kernel would take it
        }
        return value.byteSize() >= len ? value : null;
    }

    @Override
    public int getsockopt(int level, int name, MemorySegment value, MemorySegment len) {
        if (closed) {
            return -Errno.EBADF.number();
        }
        if (fd < 0) {
            return -Errno.ENOPROTOOPT.number();
        }
        return Syscalls.getsockopt(fd, level, name, value, len);
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
        return fd >= 0 ? tx.sendmsg(msghdr, flags) : -Errno.EPIPE.number();
    }

    /** Devmem sends (a TX binding id in the cmsg) that took bytes on this socket. */
    public long devmemSends() {
        return tx == null ? 0 : tx.devmemSends;
    }

    /** Bytes those devmem sends took from their dmabufs. */
    public long devmemBytesSent() {
        return tx == null ? 0 : tx.devmemBytes;
    }

    /** Send numbers the real socket spent (devmem and ordinary MSG_ZEROCOPY sends). */
    public long zerocopySends() {
        return tx == null ? 0 : tx.zerocopySends;
    }

    /** Zerocopy notices whose COPIED code was cleared because their first send was a devmem send. */
    public long noticesRewritten() {
        return tx == null ? 0 : tx.noticesRewritten;
    }

    @Override
    public int shutdown(int how) {
        if (closed) {
            return -Errno.EBADF.number();
        }
        return fd >= 0 ? Syscalls.shutdown(fd, how) : 0;
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
        return stalled ? queue.eventFd : fd;
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
        if (fd < 0) {
            return new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
        }
        if (closed) {
            return null;
        }
        try {
            return EmulatedNic.address(fd, localSide);
        } catch (SyscallException e) {
            return null;
        }
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
        if (released > 0) {
            tokensReleasedCount += released;
            nic.tokensReleased.add(released);
        }
        tokensHeld = 0;
        while (ringCount > 0) {
            eatHead();
        }
        if (fd >= 0) {
            Syscalls.closeQuietly(fd);
        }
        nic.endpointClosed();
    }

    @Override
    public String toString() {
        return "EmulatedEndpoint[" + (synthetic != null ? "synthetic " + synthetic : "fd " + fd) + " on "
                + nic.config().interfaceName() + " rx queue " + queue.id + "]";
    }

    /** One emulated sk_buff: an optional linear part and up to MAX_SKB_FRAGS frags in rx buffers. */
    private static final class Skb {
        final int[] frag = new int[EmulatedNicConfig.MAX_SKB_FRAGS];
        final int[] fragLen = new int[EmulatedNicConfig.MAX_SKB_FRAGS];
        /** Per frag: tokens issued in the current recvmsg whose buffer reference is not applied yet. */
        final int[] tokenRefs = new int[EmulatedNicConfig.MAX_SKB_FRAGS];
        /** Some {@link #tokenRefs} entry may be non-zero. */
        boolean pendingRefs;
        private final int slotSize;
        EmulatedRxBinding binding;
        int linearSlot = -1;
        int headLen;
        int nrFrags;
        long len;
        long consumed;

        Skb(int slotSize) {
            this.slotSize = slotSize;
        }

        long linearOffset() {
            return linearSlot < 0 ? 0 : (long) linearSlot * slotSize;
        }

        void reset() {
            binding = null;
            linearSlot = -1;
            headLen = 0;
            nrFrags = 0;
            len = 0;
            consumed = 0;
        }
    }
}
