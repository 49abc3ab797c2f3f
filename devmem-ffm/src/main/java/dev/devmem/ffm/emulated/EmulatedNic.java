package dev.devmem.ffm.emulated;

import dev.devmem.api.DevmemException;
import dev.devmem.api.DevmemUnsupportedException;
import dev.devmem.api.DmabufSource;
import dev.devmem.api.Errno;
import dev.devmem.api.NetlinkException;
import dev.devmem.api.RxBindingSpec;
import dev.devmem.api.SyscallException;
import dev.devmem.api.TxBindingSpec;
import dev.devmem.ffm.dmabuf.HostMemfd;
import dev.devmem.ffm.sys.SockAddr;
import dev.devmem.ffm.sys.Structs;
import dev.devmem.ffm.sys.Syscalls;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

import static dev.devmem.ffm.sys.LinuxConstants.*;

/**
 * An emulated devmem-capable NIC: the whole dmabuf half of devmem TCP without hardware, byte for
 * byte like Linux 6.18.
 *
 * <p>Data comes from real TCP connections on this host (usually loopback). Each accepted or
 * connected socket is steered to one rx queue ({@link EmulatedNicConfig#flowSteering()}). When that
 * queue has a dmabuf bound ({@link #bindRx}), the socket's {@link EmulatedEndpoint} reads the real
 * kernel socket straight into free rx buffers of the dmabuf (a memfd mapping, so the bytes can be
 * read back) and answers {@code recvmsg(MSG_SOCK_DEVMEM)} with the kernel's {@code SCM_DEVMEM_*}
 * control messages and token rules. When no buffer is free it stops reading the socket, so TCP flow
 * control pushes back on the sender exactly as a real NIC out of buffers would.
 *
 * <p>Thread-safe. Close the endpoints before the NIC: their parking eventfds belong to the NIC.
 */
public final class EmulatedNic implements AutoCloseable {
    /** Emulated interfaces get ifindexes from here up, far from any real interface's. */
    private static final AtomicInteger IFINDEX = new AtomicInteger(0x4000_0000);

    /** The kernel's extack text for bind-tx on a driver without netmem TX (net/core/netdev-genl.c). */
    public static final String NO_NETMEM_TX_MESSAGE = "Driver does not support netmem TX";

    /** The kernel's extack text when a queue already has a memory provider (net/core/netdev_rx_queue.c). */
    public static final String QUEUE_BUSY_MESSAGE = "designated queue already memory provider bound";

    private final EmulatedNicConfig config;
    private final int ifindex;
    private final EmulatedQueue[] queues;
    private final List<EmulatedRxBinding> bindings = new ArrayList<>(); // guarded by this: not yet memory-released
    private final List<EmulatedTxBinding> txBindings = new ArrayList<>(); // guarded by this: open ones
    private final AtomicInteger openEndpoints = new AtomicInteger();
    private boolean closed; // guarded by this
    private boolean queuesClosed; // guarded by this

    final LongAdder stalls = new LongAdder();
    final LongAdder headerSplitFailures = new LongAdder();
    final LongAdder skbs = new LongAdder();
    final LongAdder dmabufFrags = new LongAdder();
    final LongAdder dmabufBytes = new LongAdder();
    final LongAdder linearFrags = new LongAdder();
    final LongAdder linearBytes = new LongAdder();
    final LongAdder plainBytes = new LongAdder();
    final LongAdder tokensIssued = new LongAdder();
    final LongAdder tokensReleased = new LongAdder();

    private EmulatedNic(EmulatedNicConfig config) throws SyscallException {
        this.config = config;
        this.ifindex = IFINDEX.getAndIncrement();
        this.queues = new EmulatedQueue[config.rxQueues()];
        try {
            for (int i = 0; i < queues.length; i++) {
                queues[i] = new EmulatedQueue(i);
            }
        } catch (SyscallException e) {
            for (EmulatedQueue q : queues) {
                if (q != null) {
                    q.close();
                }
            }
            throw e;
        }
    }

    /** A new emulated NIC. */
    public static EmulatedNic create(EmulatedNicConfig config) throws DevmemException {
        return new EmulatedNic(Objects.requireNonNull(config, "config"));
    }

    public EmulatedNicConfig config() {
        return config;
    }

    /** The emulated interface index (unique in this process, not a real netdev). */
    public int ifindex() {
        return ifindex;
    }

    // ------------------------------------------------------------------------------------ binding

    /**
     * {@code netdev bind-rx} for this NIC: checks as the kernel does, in its order, and fails with
     * the same exception types the netlink path uses.
     *
     * @throws NetlinkException ENODEV (another interface name), EINVAL (a queue id out of range,
     *                          dmabuf smaller than one rx buffer), EEXIST with the kernel's text
     *                          {@value #QUEUE_BUSY_MESSAGE}
     * @throws DevmemUnsupportedException a dmabuf source that is not host memory (dma-heap, CUDA)
     */
    public EmulatedRxBinding bindRx(RxBindingSpec spec) throws DevmemException {
        Objects.requireNonNull(spec, "spec");
        requireInterface(spec.interfaceName(), "netdev bind-rx");
        return bindRx(spec.rxQueues(), spec.dmabuf());
    }

    /** {@code netdev bind-rx} of {@code dmabuf} to {@code rxQueues} of this NIC; see {@link #bindRx(RxBindingSpec)}. */
    public EmulatedRxBinding bindRx(List<Integer> rxQueues, DmabufSource dmabuf) throws DevmemException {
        Objects.requireNonNull(dmabuf, "dmabuf");
        if (rxQueues.isEmpty()) {
            throw new NetlinkException("netdev bind-rx", Errno.EINVAL, null, null, "dmabuf.queues", null, null);
        }
        requirePresent("netdev bind-rx");
        // The kernel validates every queue nest before it looks at the dmabuf; duplicates merge.
        LinkedHashSet<Integer> unique = new LinkedHashSet<>();
        for (Integer q : rxQueues) {
            if (q == null || q < 0 || q >= queues.length) {
                throw new NetlinkException("netdev bind-rx", Errno.EINVAL, null, "dmabuf.queues.id", null, null,
                        "rx queue " + q + " does not exist: " + config.interfaceName() + " has " + queues.length);
            }
            unique.add(q);
        }
        List<Integer> ids = List.copyOf(unique);
        EmulatedQueue[] qs = new EmulatedQueue[ids.size()];
        for (int i = 0; i < qs.length; i++) {
            qs[i] = queues[ids.get(i)];
        }

        EmulatedDmabuf memory;
        try {
            memory = EmulatedDmabuf.open(dmabuf, false, config.fragSize(), "netdev bind-rx", "receives into");
        } catch (EmulatedDmabuf.MapFailure e) {
            throw new NetlinkException("netdev bind-rx", Errno.EINVAL, "Failed to map dmabuf attachment", null,
                    null, null, e.describe());
        }

        // net_devmem_bind_dmabuf allocates the id first; a queue that refuses undoes the whole binding.
        int id = BindingIds.allocate();
        EmulatedRxBinding binding = new EmulatedRxBinding(this, id, ids, qs, config.fragSize(), memory);
        synchronized (this) {
            for (EmulatedQueue q : qs) {
                if (q.binding() != null) {
                    BindingIds.free(id);
                    memory.release();
                    throw new NetlinkException("netdev bind-rx", Errno.EEXIST, QUEUE_BUSY_MESSAGE, null, null, null,
                            "rx queue " + q.id + " is bound to dmabuf " + Integer.toUnsignedString(q.binding().id()));
                }
            }
            for (EmulatedQueue q : qs) {
                q.binding(binding);
            }
            bindings.add(binding);
        }
        return binding;
    }

    /**
     * {@code netdev bind-tx} for this NIC, with the kernel's checks in its order: the interface
     * (ENODEV), the driver's netmem TX opt-in ({@link EmulatedNicConfig#netmemTx()}; EOPNOTSUPP with
     * the kernel's text {@value #NO_NETMEM_TX_MESSAGE}), then the dmabuf. The dmabuf is a memfd
     * (emulated or udmabuf sources; rounded up to a page) or the caller's memfd ({@code ofFd}), mapped
     * writable. With {@link TxBindingSpec#copyFallback()} an EOPNOTSUPP becomes a host-memory binding of
     * id 0 that carries the refusal.
     *
     * @throws DevmemUnsupportedException a dmabuf source that is not host memory (dma-heap, CUDA)
     */
    public EmulatedTxBinding bindTx(TxBindingSpec spec) throws DevmemException {
        Objects.requireNonNull(spec, "spec");
        requireInterface(spec.interfaceName(), "netdev bind-tx");
        requirePresent("netdev bind-tx");
        NetlinkException refusal = null;
        if (!config.netmemTx()) {
            refusal = new NetlinkException("netdev bind-tx", Errno.EOPNOTSUPP, NO_NETMEM_TX_MESSAGE, null, null, null,
                    "the emulated NIC " + config.interfaceName() + " is configured without netmem TX"
                            + " (EmulatedNicConfig.withNetmemTx(false)), like lo, veth and most drivers");
            if (!spec.copyFallback()) {
                throw refusal;
            }
        }
        EmulatedDmabuf memory;
        try {
            memory = EmulatedDmabuf.open(spec.dmabuf(), true, 0, "netdev bind-tx", "sends from");
        } catch (EmulatedDmabuf.MapFailure e) {
            if (refusal != null) {
                DevmemUnsupportedException u = new DevmemUnsupportedException("devmem TX copy fallback", null,
                        refusal.getMessage() + "; the copy fallback needs a host-mappable dmabuf, and "
                                + e.describe(), refusal);
                u.addSuppressed(e.cause);
                throw u;
            }
            throw new NetlinkException("netdev bind-tx", Errno.EINVAL, "Failed to map dmabuf attachment", null,
                    null, null, e.describe());
        }
        int id = refusal == null ? BindingIds.allocate() : 0;
        EmulatedTxBinding binding = new EmulatedTxBinding(this, id, memory, refusal);
        synchronized (this) {
            txBindings.add(binding);
        }
        return binding;
    }

    synchronized void txBindingClosed(EmulatedTxBinding binding) {
        txBindings.remove(binding);
    }

    /** ENODEV as the kernel's bind answers a name that is not this device. */
    private void requireInterface(String name, String operation) throws NetlinkException {
        if (!name.equals(config.interfaceName())) {
            throw new NetlinkException(operation, Errno.ENODEV, null, null, null, null,
                    "the emulated NIC is " + config.interfaceName() + ", there is no " + name);
        }
    }

    /** ENODEV once the NIC is gone. */
    private synchronized void requirePresent(String operation) throws NetlinkException {
        if (closed) {
            throw new NetlinkException(operation, Errno.ENODEV, null, null, null, null,
                    "the emulated NIC " + config.interfaceName() + " is gone");
        }
    }

    /** The TX bindings not yet closed. */
    public synchronized List<EmulatedTxBinding> txBindings() {
        return List.copyOf(txBindings);
    }

    synchronized void detach(EmulatedRxBinding binding, EmulatedQueue[] qs) {
        for (EmulatedQueue q : qs) {
            if (q.binding() == binding) {
                q.binding(null);
            }
        }
    }

    synchronized void memoryReleased(EmulatedRxBinding binding) {
        bindings.remove(binding);
        maybeCloseQueues();
    }

    /**
     * {@code queue-get} for rx queue {@code queue}: the id of the dmabuf bound to it, or 0 when the
     * queue has no memory provider (the kernel then omits the {@code dmabuf} attribute).
     */
    public int queueDmabuf(int queue) {
        if (queue < 0 || queue >= queues.length) {
            throw new IllegalArgumentException("rx queue " + queue + " of " + queues.length);
        }
        EmulatedRxBinding b = queues[queue].binding();
        return b == null ? 0 : b.id();
    }

    /** The binding on rx queue {@code queue}, if any. */
    public java.util.Optional<EmulatedRxBinding> queueBinding(int queue) {
        if (queue < 0 || queue >= queues.length) {
            throw new IllegalArgumentException("rx queue " + queue + " of " + queues.length);
        }
        return java.util.Optional.ofNullable(queues[queue].binding());
    }

    /** Bindings whose memory is still mapped: open ones, and closed ones with buffers still referenced. */
    public synchronized List<EmulatedRxBinding> liveBindings() {
        return List.copyOf(bindings);
    }

    EmulatedQueue queue(int id) {
        return queues[id];
    }

    int queueCount() {
        return queues.length;
    }

    // ---------------------------------------------------------------------------------- endpoints

    /**
     * Takes over a connected TCP socket: from now on it is read only through the returned endpoint,
     * steered to a queue by {@link EmulatedNicConfig#flowSteering()}. The endpoint closes the fd.
     */
    public EmulatedEndpoint attach(int fd) throws DevmemException {
        return attachAccepted(fd, address(fd, false));
    }

    /**
     * {@link #attach(int)} of a socket whose peer address is already known (from accept): a peer that
     * reset before the accept has no {@code getpeername} any more, but its flow is still steered.
     */
    EmulatedEndpoint attachAccepted(int fd, InetSocketAddress remote) throws DevmemException {
        InetSocketAddress local = address(fd, true);
        int q = config.flowSteering().queueFor(local, remote, queues.length);
        return attach(fd, q, local, remote);
    }

    /** Takes over a connected TCP socket steered to rx queue {@code queue}. The endpoint closes the fd. */
    public EmulatedEndpoint attach(int fd, int queue) throws DevmemException {
        return attach(fd, queue, null, null);
    }

    private EmulatedEndpoint attach(int fd, int queue, InetSocketAddress local, InetSocketAddress remote)
            throws DevmemException {
        if (queue < 0 || queue >= queues.length) {
            throw new IllegalArgumentException("flow steered to rx queue " + queue + ", the NIC has " + queues.length);
        }
        return EmulatedEndpoint.ofSocket(this, queues[queue], fd, local, remote);
    }

    /** A non-blocking TCP listener whose accepted sockets come in through this NIC. */
    public EmulatedListener listen(InetSocketAddress local, int backlog) throws DevmemException {
        return EmulatedListener.open(this, local, backlog);
    }

    /** Connects a TCP socket (blocking until connected), makes it non-blocking and receives through this NIC. */
    public EmulatedEndpoint connect(InetSocketAddress remote) throws DevmemException {
        int fd = Syscalls.check(Syscalls.socket(SockAddr.family(remote), SOCK_STREAM | SOCK_CLOEXEC, 0), "socket");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment sa = arena.allocate(Structs.SOCKADDR_STORAGE_SIZE);
            int len = SockAddr.write(sa, remote);
            int r;
            do {
                r = Syscalls.connect(fd, sa, len);
            } while (r == -Errno.EINTR.number());
            Syscalls.check(r, "connect(" + SockAddr.describe(remote) + ")");
            int fl = Syscalls.check(Syscalls.fcntl(fd, F_GETFL, 0), "fcntl(F_GETFL)");
            Syscalls.check(Syscalls.fcntl(fd, F_SETFL, fl | O_NONBLOCK), "fcntl(F_SETFL, O_NONBLOCK)");
            return attach(fd);
        } catch (DevmemException | RuntimeException e) {
            Syscalls.closeQuietly(fd);
            throw e;
        }
    }

    /**
     * A socket-less endpoint on rx queue {@code queue} that "receives" an endless (or bounded)
     * stream as fast as the caller takes it, obeying the same buffer-pool and token rules: for
     * measuring a pipeline's own ceiling.
     */
    public EmulatedEndpoint synthetic(int queue, SyntheticStream stream) throws DevmemException {
        Objects.requireNonNull(stream, "stream");
        if (queue < 0 || queue >= queues.length) {
            throw new IllegalArgumentException("rx queue " + queue + " of " + queues.length);
        }
        return EmulatedEndpoint.synthetic(this, queues[queue], stream);
    }

    static InetSocketAddress address(int fd, boolean local) throws SyscallException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment sa = arena.allocate(Structs.SOCKADDR_STORAGE_SIZE);
            MemorySegment len = arena.allocate(ValueLayout.JAVA_INT);
            len.set(ValueLayout.JAVA_INT, 0, Structs.SOCKADDR_STORAGE_SIZE);
            int r = local ? Syscalls.getsockname(fd, sa, len) : Syscalls.getpeername(fd, sa, len);
            Syscalls.check(r, local ? "getsockname" : "getpeername");
            return SockAddr.read(sa);
        }
    }

    void endpointOpened() {
        openEndpoints.incrementAndGet();
    }

    void endpointClosed() {
        if (openEndpoints.decrementAndGet() == 0) {
            synchronized (this) {
                maybeCloseQueues();
            }
        }
    }

    // guarded by this
    private void maybeCloseQueues() {
        if (closed && !queuesClosed && openEndpoints.get() == 0 && bindings.isEmpty()) {
            queuesClosed = true;
            for (EmulatedQueue q : queues) {
                q.close();
            }
        }
    }

    // ----------------------------------------------------------------------------------- counters

    /** A snapshot of the NIC's counters (summed over every endpoint it has served). */
    public EmulatedNicStats stats() {
        int free = 0;
        int held = 0;
        for (EmulatedRxBinding b : liveBindings()) {
            free += b.buffersFree();
            held += b.buffersHeld();
        }
        return new EmulatedNicStats(free, held, tokensIssued.sum() - tokensReleased.sum(), stalls.sum(),
                headerSplitFailures.sum(), skbs.sum(), dmabufFrags.sum(), dmabufBytes.sum(), linearFrags.sum(),
                linearBytes.sum(), plainBytes.sum(), tokensIssued.sum(), tokensReleased.sum());
    }

    /**
     * The NIC goes away: every rx and TX binding is unbound (its memory stays until its buffers come back), new
     * bindings fail with ENODEV. The queues' eventfds close once every endpoint is closed. Idempotent.
     */
    @Override
    public void close() {
        List<EmulatedRxBinding> toClose;
        List<EmulatedTxBinding> txToClose;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            toClose = List.copyOf(bindings);
            txToClose = List.copyOf(txBindings);
        }
        for (EmulatedRxBinding b : toClose) {
            b.close();
        }
        for (EmulatedTxBinding b : txToClose) {
            b.close();
        }
        synchronized (this) {
            maybeCloseQueues();
        }
    }

    @Override
    public String toString() {
        return "EmulatedNic[" + config.interfaceName() + " ifindex " + ifindex + ", " + queues.length + " rx queues]";
    }
}
