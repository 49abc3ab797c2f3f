package dev.devmem.ffm.bindd;

import dev.devmem.api.DevmemException;
import dev.devmem.api.DevmemUnsupportedException;
import dev.devmem.api.DmabufSource;
import dev.devmem.api.Errno;
import dev.devmem.api.NetlinkException;
import dev.devmem.api.RxBindingSpec;
import dev.devmem.api.SyscallException;
import dev.devmem.api.TxBindingSpec;
import dev.devmem.api.spi.BackendAvailability;
import dev.devmem.api.spi.DevmemBackend;
import dev.devmem.api.spi.DevmemListener;
import dev.devmem.api.spi.DevmemSocket;
import dev.devmem.api.spi.DevmemTxSocket;
import dev.devmem.api.spi.IoWaiter;
import dev.devmem.api.spi.RxBinding;
import dev.devmem.api.spi.TxBinding;
import dev.devmem.ffm.dmabuf.DmabufAllocation;
import dev.devmem.ffm.dmabuf.DmabufExporters;
import dev.devmem.ffm.emulated.EmulatedBackend;
import dev.devmem.ffm.sys.LinuxConstants;
import dev.devmem.ffm.sys.Syscalls;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * A backend that binds through {@code devmem bindd} and does everything else itself: an application
 * without any capability receives and sends ({@code recvmsg}, {@code SO_DEVMEM_DONTNEED},
 * {@code sendmsg} need none) while the daemon holds CAP_NET_ADMIN for the binds.
 *
 * <p>Each bind is one connection to the daemon, and the binding lives exactly as long as it. The
 * dmabuf: a caller's fd ({@link DmabufSource#ofFd}) and CUDA memory (exported here: the application
 * owns its GPU memory) are passed to the daemon with {@code SCM_RIGHTS}; udmabuf, DMA-heap and
 * emulated sources are allocated by the daemon, which passes the dmabuf back the same way. Refusals
 * arrive as the exceptions binding in-process throws, errno and extack text included.
 *
 * <p>Over the emulated NIC the daemon is the NIC's control plane (checks, id, queue ownership,
 * lifetime) and the binding is then installed in this process's NIC, where its data path is; see
 * docs/security.md.
 */
public final class BinderBackend implements DevmemBackend, AutoCloseable {
    private final Path socket;
    private final DevmemBackend local;

    private BinderBackend(Path socket, DevmemBackend local) {
        this.socket = socket;
        this.local = local;
    }

    /**
     * Binds through the daemon listening on {@code socket}, and uses {@code local} (the Linux backend
     * or an emulated NIC, which this backend then owns) for everything but binding.
     */
    public static BinderBackend over(Path socket, DevmemBackend local) {
        return new BinderBackend(Objects.requireNonNull(socket, "socket"), Objects.requireNonNull(local, "local"));
    }

    /** The backend everything but binding goes to. */
    public DevmemBackend local() {
        return local;
    }

    public Path socket() {
        return socket;
    }

    /** NIC setup through the same daemon (it applies and restores the devmem setup for this process). */
    public BinderNicSetup nicSetup() {
        return BinderNicSetup.at(socket);
    }

    @Override
    public String name() {
        return local.name();
    }

    @Override
    public BackendAvailability availability() {
        if (!Files.exists(socket)) {
            return BackendAvailability.no("no devmem bindd socket at " + socket + " (start `devmem bindd --socket "
                    + socket + "` as root)");
        }
        BackendAvailability a = local.availability();
        return new BackendAvailability(a.available(), a.reason() + "; binds through devmem bindd at " + socket);
    }

    @Override
    public RxBinding bindRx(RxBindingSpec spec) throws DevmemException {
        Objects.requireNonNull(spec, "spec");
        Request q = Request.of(spec.dmabuf(), local);
        try {
            byte[] frame = Wire.bindRx(spec.interfaceName(), q.kind, q.size, q.heap, spec.rxQueues());
            Granted g = request(frame, q);
            if (local instanceof EmulatedBackend emulated) {
                return emulatedRx(emulated, spec, g);
            }
            return new LeasedBindings.Rx(g.bound, spec.rxQueues(), g.lease,
                    g.owned(q, map(g, q, LinuxConstants.PROT_READ)), g.view);
        } catch (DevmemException | RuntimeException | Error e) {
            q.release();
            throw e;
        }
    }

    @Override
    public TxBinding bindTx(TxBindingSpec spec) throws DevmemException {
        Objects.requireNonNull(spec, "spec");
        Request q = Request.of(spec.dmabuf(), local);
        try {
            Granted g;
            try {
                g = request(Wire.bindTx(spec.interfaceName(), q.kind, q.size, q.heap), q);
            } catch (NetlinkException e) {
                if (spec.copyFallback() && e.errno().equals(Errno.EOPNOTSUPP)) {
                    // Sending from host memory binds nothing: this process can do it alone, and says why.
                    q.release();
                    return local.bindTx(spec);
                }
                throw e;
            }
            if (local instanceof EmulatedBackend emulated) {
                return emulatedTx(emulated, spec, g);
            }
            return new LeasedBindings.Tx(g.bound, g.lease,
                    g.owned(q, map(g, q, LinuxConstants.PROT_READ | LinuxConstants.PROT_WRITE)), g.view);
        } catch (DevmemException | RuntimeException | Error e) {
            q.release();
            throw e;
        }
    }

    /** One bind's dmabuf as the request carries it, and what this side allocated for it. */
    private static final class Request {
        final int kind;
        final long size;
        final String heap;
        final int passFd;
        final DmabufAllocation localDmabuf;

        private Request(int kind, long size, String heap, int passFd, DmabufAllocation localDmabuf) {
            this.kind = kind;
            this.size = size;
            this.heap = heap;
            this.passFd = passFd;
            this.localDmabuf = localDmabuf;
        }

        static Request of(DmabufSource source, DevmemBackend local) throws DevmemException {
            return switch (source) {
                case DmabufSource.Fd f -> new Request(Wire.DMABUF_PASSED, f.size(), null, f.fd(), null);
                case DmabufSource.Cuda c -> {
                    if (local instanceof EmulatedBackend) { // as the emulated NIC itself refuses it
                        throw new DevmemUnsupportedException("emulated bind of " + c, null, "the emulated NIC uses "
                                + "host memory only (emulated, udmabuf or a memfd fd), not " + c);
                    }
                    DmabufAllocation a = DmabufExporters.allocate(c);
                    yield new Request(Wire.DMABUF_PASSED, a.size(), null, a.fd(), a);
                }
                case DmabufSource.Udmabuf u -> new Request(Wire.DMABUF_UDMABUF, u.size(), null, -1, null);
                case DmabufSource.DmaHeap h -> new Request(Wire.DMABUF_DMA_HEAP, h.size(), h.heap(), -1, null);
                case DmabufSource.Emulated e -> new Request(Wire.DMABUF_EMULATED, e.size(), null, -1, null);
            };
        }

        void release() {
            if (localDmabuf != null) {
                localDmabuf.close();
            }
        }
    }

    /** The daemon's grant: the binding, its lease, the dmabuf it passed back (or -1), a host view once mapped. */
    private static final class Granted {
        final Wire.Bound bound;
        final BinderLease lease;
        final int receivedFd;
        Arena mapping;
        Optional<MemorySegment> view = Optional.empty();

        Granted(Wire.Bound bound, BinderLease lease, int receivedFd) {
            this.bound = bound;
            this.lease = lease;
            this.receivedFd = receivedFd;
        }

        LeasedBindings.Owned owned(Request q, Arena mapping) {
            return new LeasedBindings.Owned(receivedFd, mapping, q.localDmabuf);
        }

        void abandon() {
            lease.close();
            if (mapping != null) {
                mapping.close();
            }
            Syscalls.closeQuietly(receivedFd);
        }
    }

    private Granted request(byte[] frame, Request q) throws DevmemException {
        BinderLease lease = BinderLease.connect(socket);
        try {
            UnixSocket.Frame reply = lease.call(frame, q.passFd);
            Wire.Bound b = BinderLease.bound(reply, socket);
            return new Granted(b, lease, b.fdAttached() ? reply.fds()[0] : -1);
        } catch (DevmemException | RuntimeException | Error e) {
            lease.close();
            throw e;
        }
    }

    /** Maps a dmabuf the daemon allocated from host memory (udmabuf), so the binding has a host view as in-process. */
    private static Arena map(Granted g, Request q, int prot) {
        if (g.receivedFd < 0 || q.kind != Wire.DMABUF_UDMABUF) {
            return null;
        }
        Arena arena = Arena.ofShared();
        long size = g.bound.size();
        try {
            MemorySegment raw = Syscalls.mmap(size, prot, LinuxConstants.MAP_SHARED, g.receivedFd, 0);
            g.view = Optional.of(raw.reinterpret(size, arena, s -> Syscalls.munmap(s, size)));
            g.mapping = arena;
            return arena;
        } catch (SyscallException e) {
            arena.close();
            return null; // no host view, as for any dmabuf the CPU cannot map
        }
    }

    private static RxBinding emulatedRx(EmulatedBackend emulated, RxBindingSpec spec, Granted g) throws DevmemException {
        int fd = g.receivedFd >= 0 ? g.receivedFd : passedFdOf(spec.dmabuf());
        RxBinding installed;
        try {
            installed = emulated.bindRx(new RxBindingSpec(spec.interfaceName(), spec.rxQueues(),
                    DmabufSource.ofFd(fd, g.bound.size())));
        } catch (DevmemException | RuntimeException | Error e) {
            g.abandon();
            throw e;
        }
        return new EmulatedLeased.Rx(installed, g.lease, g.receivedFd, g.bound.id());
    }

    private static TxBinding emulatedTx(EmulatedBackend emulated, TxBindingSpec spec, Granted g) throws DevmemException {
        int fd = g.receivedFd >= 0 ? g.receivedFd : passedFdOf(spec.dmabuf());
        TxBinding installed;
        try {
            installed = emulated.bindTx(new TxBindingSpec(spec.interfaceName(), DmabufSource.ofFd(fd, g.bound.size())));
        } catch (DevmemException | RuntimeException | Error e) {
            g.abandon();
            throw e;
        }
        return new EmulatedLeased.Tx(installed, g.lease, g.receivedFd, g.bound.id());
    }

    private static int passedFdOf(DmabufSource s) {
        return ((DmabufSource.Fd) s).fd();
    }

    @Override
    public DevmemListener listen(InetSocketAddress local, int backlog) throws DevmemException {
        return this.local.listen(local, backlog);
    }

    @Override
    public DevmemSocket connect(InetSocketAddress remote) throws DevmemException {
        return local.connect(remote);
    }

    @Override
    public DevmemTxSocket connectTx(InetSocketAddress remote, TxBinding binding) throws DevmemException {
        return local.connectTx(remote, binding instanceof EmulatedLeased.Tx t ? t.installed() : binding);
    }

    @Override
    public IoWaiter newIoWaiter() throws DevmemException {
        return local.newIoWaiter();
    }

    /** Closes the local backend when it is closeable (an emulated NIC). */
    @Override
    public void close() throws Exception {
        if (local instanceof AutoCloseable c) {
            c.close();
        }
    }

    @Override
    public String toString() {
        return "BinderBackend[" + socket + " over " + local + "]";
    }
}
