package dev.devmem.ffm.linux;

import dev.devmem.api.DevmemException;
import dev.devmem.api.DevmemUnsupportedException;
import dev.devmem.api.Errno;
import dev.devmem.api.NetlinkException;
import dev.devmem.api.RxBindingSpec;
import dev.devmem.api.SyscallException;
import dev.devmem.api.TxBindingSpec;
import dev.devmem.api.spi.RxBinding;
import dev.devmem.api.spi.TxBinding;
import dev.devmem.ffm.dmabuf.DmabufAllocation;
import dev.devmem.ffm.dmabuf.DmabufExporters;
import dev.devmem.ffm.netdev.BindRxParams;
import dev.devmem.ffm.netdev.BindTxParams;
import dev.devmem.ffm.netdev.Netdev;
import dev.devmem.ffm.sys.LinuxConstants;
import dev.devmem.ffm.sys.Syscalls;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Optional;

/**
 * Binds for {@link LinuxBackend}: exports the dmabuf the spec asks for, binds it over netlink, and
 * hands the dmabuf to the netdev binding, so closing the binding unbinds (closes the netlink socket)
 * and then frees the dmabuf, in that order. A failed bind frees the dmabuf before the exception
 * leaves, unless the spec asked for the TX copy fallback and the kernel cannot do devmem TX: then
 * the dmabuf stays, as host memory, in a binding with id 0 that carries the refusal.
 */
final class LinuxBindings {
    private LinuxBindings() {
    }

    static RxBinding bindRx(RxBindingSpec spec) throws DevmemException {
        int ifindex = ifindex(spec.interfaceName(), "netdev bind-rx");
        DmabufAllocation dmabuf = DmabufExporters.allocate(spec.dmabuf());
        try (Netdev netdev = Netdev.open()) {
            return netdev.bindRx(new BindRxParams(ifindex, spec.rxQueues(), dmabuf.fd(), dmabuf.size(),
                    false, dmabuf.hostView()), dmabuf::close);
        } catch (DevmemException | RuntimeException | Error e) {
            dmabuf.close();
            throw e;
        }
    }

    static TxBinding bindTx(TxBindingSpec spec) throws DevmemException {
        int ifindex = ifindex(spec.interfaceName(), "netdev bind-tx");
        DmabufAllocation dmabuf = DmabufExporters.allocate(spec.dmabuf());
        try (Netdev netdev = Netdev.open()) {
            return netdev.bindTx(new BindTxParams(ifindex, dmabuf.fd(), dmabuf.size(), false,
                    dmabuf.hostView()), dmabuf::close);
        } catch (NetlinkException | DevmemUnsupportedException e) {
            if (spec.copyFallback() && cannotDevmemTx(e)) {
                return hostFallback(spec.interfaceName(), ifindex, dmabuf, e);
            }
            dmabuf.close();
            throw e;
        } catch (DevmemException | RuntimeException | Error e) {
            dmabuf.close();
            throw e;
        }
    }

    /** The refusals the copy fallback covers: the driver (EOPNOTSUPP) or the kernel (no bind-tx) cannot do devmem TX. */
    private static boolean cannotDevmemTx(DevmemException e) {
        return e instanceof DevmemUnsupportedException
                || (e instanceof NetlinkException n && n.errno().equals(Errno.EOPNOTSUPP));
    }

    /**
     * A host-memory binding over the dmabuf's host view (mapped here when the exporter did not map
     * it), reporting {@code cause}. Closes {@code dmabuf} and throws when it cannot be mapped.
     */
    private static TxBinding hostFallback(String name, int ifindex, DmabufAllocation dmabuf, DevmemException cause)
            throws DevmemException {
        Optional<MemorySegment> view = dmabuf.hostView();
        Arena arena = null;
        if (view.isEmpty()) {
            arena = Arena.ofShared();
            long size = dmabuf.size();
            try {
                MemorySegment raw = Syscalls.mmap(size, LinuxConstants.PROT_READ | LinuxConstants.PROT_WRITE,
                        LinuxConstants.MAP_SHARED, dmabuf.fd(), 0);
                view = Optional.of(raw.reinterpret(size, arena, seg -> Syscalls.munmap(seg, size)));
            } catch (SyscallException | RuntimeException e) {
                arena.close();
                dmabuf.close();
                DevmemUnsupportedException u = new DevmemUnsupportedException("devmem TX copy fallback", null,
                        cause.getMessage() + "; the copy fallback needs a host-mappable dmabuf, and mmap of this "
                                + dmabuf.exporter() + " dmabuf failed: " + e.getMessage(), cause);
                u.addSuppressed(e);
                throw u;
            }
        }
        return new HostTx(name, ifindex, dmabuf, view.orElseThrow(), arena, cause);
    }
    private static int ifindex(String name, String operation) throws NetlinkException {
        int r = Syscalls.ifNameToIndex(name);
        if (r < 0) {
            throw new NetlinkException(operation, Errno.ENODEV, null, null, null, null,
                    "there is no interface " + name + " in this network namespace");
        }
        return r;
    }

    /**
     * The copy fallback: no kernel binding, id 0, the dmabuf's host view sent as host memory. Owns the
     * dmabuf and, when it mapped the view itself, the mapping.
     */
    private static final class HostTx implements TxBinding {
        private final String name;
        private final int ifindex;
        private final DmabufAllocation dmabuf;
        private final MemorySegment view;
        private final Arena mapping;
        private final DevmemException cause;
        private volatile boolean open = true;

        HostTx(String name, int ifindex, DmabufAllocation dmabuf, MemorySegment view, Arena mapping,
               DevmemException cause) {
            this.name = name;
            this.ifindex = ifindex;
            this.dmabuf = dmabuf;
            this.view = view;
            this.mapping = mapping;
            this.cause = cause;
        }

        @Override
        public int id() {
            return 0;
        }

        @Override
        public String interfaceName() {
            return name;
        }

        @Override
        public int ifindex() {
            return ifindex;
        }

        @Override
        public long dmabufSize() {
            return dmabuf.size();
        }

        @Override
        public Optional<MemorySegment> hostView() {
            return Optional.of(view);
        }

        @Override
        public Optional<DevmemException> fallbackCause() {
            return Optional.of(cause);
        }

        @Override
        public boolean isOpen() {
            return open;
        }

        @Override
        public synchronized void close() {
            if (!open) {
                return;
            }
            open = false;
            try {
                if (mapping != null) {
                    mapping.close();
                }
            } finally {
                dmabuf.close();
            }
        }

        @Override
        public String toString() {
            return "TxBinding[copy fallback over " + dmabuf + " on " + name + ": " + cause.getMessage() + "]";
        }
    }
}
