package dev.devmem.ffm.bindd;

import dev.devmem.api.spi.RxBinding;
import dev.devmem.api.spi.TxBinding;
import dev.devmem.ffm.sys.Syscalls;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Optional;

/**
 * Bindings the daemon made in the kernel for this process. Each owns its lease (closing it makes
 * the daemon close the binding's netlink socket: the kernel unbinds), and what came with it: the
 * dmabuf the daemon allocated and passed back, its host mapping, or a dmabuf this process exported
 * itself (CUDA). Released in that order, after the unbind.
 */
final class LeasedBindings {
    private LeasedBindings() {
    }

    /** The local resources a leased binding owns besides the lease. */
    record Owned(int receivedFd, Arena mapping, AutoCloseable localDmabuf) {
        static final Owned NONE = new Owned(-1, null, null);

        void release() {
            try {
                if (mapping != null) {
                    mapping.close();
                }
            } finally {
                Syscalls.closeQuietly(receivedFd);
                if (localDmabuf != null) {
                    try {
                        localDmabuf.close();
                    } catch (Exception ignored) {
                        // a dmabuf export's close does not fail in practice; nothing to retry
                    }
                }
            }
        }
    }

    abstract static class Base implements AutoCloseable {
        final Wire.Bound bound;
        final BinderLease lease;
        final Owned owned;
        final Optional<MemorySegment> view;
        private volatile boolean open = true;
        private volatile boolean lost;

        Base(Wire.Bound bound, BinderLease lease, Owned owned, Optional<MemorySegment> view) {
            this.bound = bound;
            this.lease = lease;
            this.owned = owned;
            this.view = view;
            lease.watch(Integer.toUnsignedString(bound.id()), () -> lost = true);
        }

        public int id() {
            return bound.id();
        }

        public String interfaceName() {
            return bound.ifname();
        }

        public int ifindex() {
            return bound.ifindex();
        }

        public long dmabufSize() {
            return bound.size();
        }

        /** False once closed, or once the daemon ended the lease (it stopped or died: the kernel unbound). */
        public boolean isOpen() {
            return open && !lost;
        }

        @Override
        public synchronized void close() {
            if (!open) {
                return;
            }
            open = false;
            try {
                lease.close();
            } finally {
                owned.release();
            }
        }

        String describe(String kind) {
            return kind + "[id " + Integer.toUnsignedString(id()) + " on " + interfaceName() + " via devmem bindd "
                    + lease.path() + (lost ? ", lost: the daemon ended it" : open ? "" : ", closed") + "]";
        }
    }

    static final class Rx extends Base implements RxBinding {
        private final List<Integer> queues;

        Rx(Wire.Bound bound, List<Integer> queues, BinderLease lease, Owned owned, Optional<MemorySegment> view) {
            super(bound, lease, owned, view);
            this.queues = List.copyOf(queues);
        }

        @Override
        public List<Integer> rxQueues() {
            return queues;
        }

        @Override
        public Optional<MemorySegment> hostView() {
            return view.map(MemorySegment::asReadOnly);
        }

        @Override
        public String toString() {
            return describe("LeasedRxBinding") + " rx " + queues;
        }
    }

    static final class Tx extends Base implements TxBinding {
        Tx(Wire.Bound bound, BinderLease lease, Owned owned, Optional<MemorySegment> view) {
            super(bound, lease, owned, view);
        }

        @Override
        public Optional<MemorySegment> hostView() {
            return view;
        }

        @Override
        public String toString() {
            return describe("LeasedTxBinding");
        }
    }
}
