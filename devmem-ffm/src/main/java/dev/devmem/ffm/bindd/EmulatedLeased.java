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

    /** What both directions own: the installed binding, the lease, the received dmabuf fd; closed once. */
    private static final class Hold {
        private final AutoCloseable installed;
        private final BinderLease lease;
        private final int receivedFd;
        private final int daemonId;
        private boolean closed;

        Hold(AutoCloseable installed, BinderLease lease, int receivedFd, int daemonId) {
            this.installed = installed;
            this.lease = lease;
            this.receivedFd = receivedFd;
            this.daemonId = daemonId;
            lease.watch(Integer.toUnsignedString(daemonId), () -> closeQuietly(installed));
        }

        synchronized void close() {
            if (closed) {
                return;
            }
            closed = true;
            try {
                closeQuietly(installed);
            } finally {
                try {
                    lease.close();
                } finally {
                    Syscalls.closeQuietly(receivedFd); // the installed binding mapped it; the mapping keeps the memory
                }
            }
        }

        String describe(String kind) {
            return "EmulatedLeased" + kind + "[" + installed + ", daemon binding " + Integer.toUnsignedString(daemonId)
                    + " via " + lease.path() + "]";
        }

        private static void closeQuietly(AutoCloseable c) {
            try {
                c.close();
            } catch (Exception ignored) {
                // binding closes do not throw
            }
        }
    }

    static final class Rx implements RxBinding {
        private final RxBinding installed;
        private final Hold hold;

        Rx(RxBinding installed, BinderLease lease, int receivedFd, int daemonId) {
            this.installed = installed;
            this.hold = new Hold(installed, lease, receivedFd, daemonId);
        }

        @Override public int id() { return installed.id(); }
        @Override public String interfaceName() { return installed.interfaceName(); }
        @Override public int ifindex() { return installed.ifindex(); }
        @Override public List<Integer> rxQueues() { return installed.rxQueues(); }
        @Override public long dmabufSize() { return installed.dmabufSize(); }
        @Override public Optional<MemorySegment> hostView() { return installed.hostView(); }
        @Override public boolean isOpen() { return installed.isOpen(); }
        @Override public void close() { hold.close(); }
        @Override public String toString() { return hold.describe("Rx"); }
    }

    static final class Tx implements TxBinding {
        private final TxBinding installed;
        private final Hold hold;

        Tx(TxBinding installed, BinderLease lease, int receivedFd, int daemonId) {
            this.installed = installed;
            this.hold = new Hold(installed, lease, receivedFd, daemonId);
        }

        TxBinding installed() {
            return installed;
        }

        @Override public int id() { return installed.id(); }
        @Override public String interfaceName() { return installed.interfaceName(); }
        @Override public int ifindex() { return installed.ifindex(); }
        @Override public long dmabufSize() { return installed.dmabufSize(); }
        @Override public Optional<MemorySegment> hostView() { return installed.hostView(); }
        @Override public Optional<DevmemException> fallbackCause() { return installed.fallbackCause(); }
        @Override public boolean isOpen() { return installed.isOpen(); }
        @Override public void close() { hold.close(); }
        @Override public String toString() { return hold.describe("Tx"); }
    }
}
