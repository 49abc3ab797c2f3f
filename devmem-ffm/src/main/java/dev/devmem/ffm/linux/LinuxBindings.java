package dev.devmem.ffm.linux;

import dev.devmem.api.DevmemException;
import dev.devmem.api.Errno;
import dev.devmem.api.NetlinkException;
import dev.devmem.api.RxBindingSpec;
import dev.devmem.api.TxBindingSpec;
import dev.devmem.api.spi.RxBinding;
import dev.devmem.api.spi.TxBinding;
import dev.devmem.ffm.dmabuf.DmabufAllocation;
import dev.devmem.ffm.dmabuf.DmabufExporters;
import dev.devmem.ffm.netdev.BindRxParams;
import dev.devmem.ffm.netdev.BindTxParams;
import dev.devmem.ffm.netdev.Netdev;
import dev.devmem.ffm.netdev.NetdevRxBinding;
import dev.devmem.ffm.netdev.NetdevTxBinding;
import dev.devmem.ffm.sys.Syscalls;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Optional;

/**
 * Binds for {@link LinuxBackend}: exports the dmabuf the spec asks for, binds it over netlink, and
 * returns one object that owns both, so closing it unbinds (closes the netlink socket) and then
 * frees the dmabuf, in that order. A failed bind frees the dmabuf before the exception leaves.
 */
final class LinuxBindings {
    private LinuxBindings() {
    }

    static RxBinding bindRx(RxBindingSpec spec) throws DevmemException {
        int ifindex = ifindex(spec.interfaceName(), "netdev bind-rx");
        DmabufAllocation dmabuf = DmabufExporters.allocate(spec.dmabuf());
        try (Netdev netdev = Netdev.open()) {
            NetdevRxBinding b = netdev.bindRx(new BindRxParams(ifindex, spec.rxQueues(), dmabuf.fd(), dmabuf.size(),
                    false, dmabuf.hostView()));
            return new Rx(b, dmabuf);
        } catch (DevmemException | RuntimeException | Error e) {
            dmabuf.close();
            throw e;
        }
    }

    static TxBinding bindTx(TxBindingSpec spec) throws DevmemException {
        int ifindex = ifindex(spec.interfaceName(), "netdev bind-tx");
        DmabufAllocation dmabuf = DmabufExporters.allocate(spec.dmabuf());
        try (Netdev netdev = Netdev.open()) {
            NetdevTxBinding b = netdev.bindTx(new BindTxParams(ifindex, dmabuf.fd(), dmabuf.size(), false,
                    dmabuf.hostView()));
            return new Tx(b, dmabuf);
        } catch (DevmemException | RuntimeException | Error e) {
            dmabuf.close();
            throw e;
        }
    }

    private static int ifindex(String name, String operation) throws NetlinkException {
        int r = Syscalls.ifNameToIndex(name);
        if (r < 0) {
            throw new NetlinkException(operation, Errno.ENODEV, null, null, null, null,
                    "there is no interface " + name + " in this network namespace");
        }
        return r;
    }

    /** An rx binding with the dmabuf it owns. */
    private record Rx(NetdevRxBinding binding, DmabufAllocation dmabuf) implements RxBinding {
        @Override
        public int id() {
            return binding.id();
        }

        @Override
        public String interfaceName() {
            return binding.interfaceName();
        }

        @Override
        public int ifindex() {
            return binding.ifindex();
        }

        @Override
        public List<Integer> rxQueues() {
            return binding.rxQueues();
        }

        @Override
        public long dmabufSize() {
            return binding.dmabufSize();
        }

        @Override
        public Optional<MemorySegment> hostView() {
            return binding.hostView();
        }

        @Override
        public boolean isOpen() {
            return binding.isOpen();
        }

        @Override
        public void close() {
            try {
                binding.close();
            } finally {
                dmabuf.close();
            }
        }
    }

    /** A tx binding with the dmabuf it owns. */
    private record Tx(NetdevTxBinding binding, DmabufAllocation dmabuf) implements TxBinding {
        @Override
        public int id() {
            return binding.id();
        }

        @Override
        public String interfaceName() {
            return binding.interfaceName();
        }

        @Override
        public int ifindex() {
            return binding.ifindex();
        }

        @Override
        public long dmabufSize() {
            return binding.dmabufSize();
        }

        @Override
        public Optional<MemorySegment> hostView() {
            return binding.hostView();
        }

        @Override
        public boolean isOpen() {
            return binding.isOpen();
        }

        @Override
        public void close() {
            try {
                binding.close();
            } finally {
                dmabuf.close();
            }
        }
    }
}
