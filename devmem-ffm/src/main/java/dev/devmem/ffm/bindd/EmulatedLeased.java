package dev.devmem.ffm.bindd;

import dev.devmem.api.DevmemException;
import dev.devmem.api.spi.RxBinding;
import dev.devmem.api.spi.TxBinding;
import dev.devmem.ffm.sys.Syscalls;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Optional;

/**
 * A binding the daemon granted on the emulated NIC's control plane and this process installed in
 * its own emulated NIC, where the data path is. The daemon letting go (it stopped or died) unbinds
 * the installed binding, as the kernel unbinds when the daemon's netlink socket closes; closing it
 * unbinds locally first, then ends the lease. Ids are the local NIC's, which the frags carry.
 */
final class EmulatedLeased {
    private EmulatedLeased() {
    }

    private static void closeAll(AutoCloseable installed, BinderLease lease, int receivedFd) {
        try {
            installed.close();
        } catch (Exception ignored) {
            // binding closes do not throw
        } finally {
            try {
                lease.close();
            } finally {
                Syscalls.closeQuietly(receivedFd); // the installed binding mapped it; the mapping keeps the memory
            }
        }
    }

    static final class Rx implements RxBinding {
        private final RxBinding installed;
        private final BinderLease lease;
        private final int receivedFd;
        private final int daemonId;
        private boolean closed;

        Rx(RxBinding installed, BinderLease lease, int receivedFd, int daemonId) {
            this.installed = installed;
            this.lease = lease;
            this.receivedFd = receivedFd;
            this.daemonId = daemonId;
            lease.watch(Integer.toUnsignedString(daemonId), installed::close);
        }

        @Override
        public int id() {
            return installed.id();
        }

        @Override
        public String interfaceName() {
            return installed.interfaceName();
        }

        @Override
        public int ifindex() {
            return installed.ifindex();
        }

        @Override
        public List<Integer> rxQueues() {
            return installed.rxQueues();
        }

        @Override
        public long dmabufSize() {
            return installed.dmabufSize();
        }

        @Override
        public Optional<MemorySegment> hostView() {
            return installed.hostView();
        }

        @Override
        public boolean isOpen() {
            return installed.isOpen();
        }

        @Override
        public synchronized void close() {
            if (!closed) {
                closed = true;
                closeAll(installed, lease, receivedFd);
            }
        }

        @Override
        public String toString() {
            return "EmulatedLeasedRx[" + installed + ", daemon binding " + Integer.toUnsignedString(daemonId) + " via "
                    + lease.path() + "]";
        }
    }

    static final class Tx implements TxBinding {
        private final TxBinding installed;
        private final BinderLease lease;
        private final int receivedFd;
        private final int daemonId;
        private boolean closed;

        Tx(TxBinding installed, BinderLease lease, int receivedFd, int daemonId) {
            this.installed = installed;
            this.lease = lease;
            this.receivedFd = receivedFd;
            this.daemonId = daemonId;
            lease.watch(Integer.toUnsignedString(daemonId), installed::close);
        }

        TxBinding installed() {
            return installed;
        }

        @Override
        public int id() {
            return installed.id();
        }

        @Override
        public String interfaceName() {
            return installed.interfaceName();
        }

        @Override
        public int ifindex() {
            return installed.ifindex();
        }

        @Override
        public long dmabufSize() {
            return installed.dmabufSize();
        }

        @Override
        public Optional<MemorySegment> hostView() {
            return installed.hostView();
        }

        @Override
        public Optional<DevmemException> fallbackCause() {
            return installed.fallbackCause();
        }

        @Override
        public boolean isOpen() {
            return installed.isOpen();
        }

        @Override
        public synchronized void close() {
            if (!closed) {
                closed = true;
                closeAll(installed, lease, receivedFd);
            }
        }

        @Override
        public String toString() {
            return "EmulatedLeasedTx[" + installed + ", daemon binding " + Integer.toUnsignedString(daemonId) + " via "
                    + lease.path() + "]";
        }
    }
}
