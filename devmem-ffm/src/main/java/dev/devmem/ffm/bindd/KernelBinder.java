package dev.devmem.ffm.bindd;

import dev.devmem.api.DevmemException;
import dev.devmem.api.DmabufSource;
import dev.devmem.api.Errno;
import dev.devmem.api.NetlinkException;
import dev.devmem.ffm.dmabuf.DmabufAllocation;
import dev.devmem.ffm.dmabuf.DmabufExporters;
import dev.devmem.ffm.netdev.BindRxParams;
import dev.devmem.ffm.netdev.BindTxParams;
import dev.devmem.ffm.netdev.Netdev;
import dev.devmem.ffm.sys.Syscalls;

import java.util.Optional;

/**
 * Binds with the running kernel ({@code netdev bind-rx} / {@code bind-tx}), in the network namespace
 * the daemon was started in. Each binding owns its own netlink socket, exactly as in-process
 * bindings do, so closing it (when the client's connection ends) is what makes the kernel unbind.
 */
final class KernelBinder implements Binder {

    @Override
    public Held bind(Wire.BindRequest r, int passedFd) throws DevmemException {
        String operation = r.tx() ? "netdev bind-tx" : "netdev bind-rx";
        int ifindex = Syscalls.ifNameToIndex(r.ifname());
        if (ifindex < 0) {
            throw new NetlinkException(operation, Errno.ENODEV, null, null, null, null,
                    "there is no interface " + r.ifname() + " in the network namespace of devmem bindd");
        }
        DmabufAllocation allocation = passedFd >= 0 ? null : DmabufExporters.allocate(source(r));
        int fd = allocation == null ? passedFd : allocation.fd();
        long size = allocation == null ? r.size() : allocation.size();
        Runnable release = allocation == null ? () -> { } : allocation::close;
        try (Netdev netdev = Netdev.open()) {
            if (r.tx()) {
                var b = netdev.bindTx(new BindTxParams(ifindex, fd, size, false, Optional.empty()), release);
                return new KernelHeld(b.id(), ifindex, r.ifname(), size, allocation == null ? -1 : fd, b::close);
            }
            var b = netdev.bindRx(new BindRxParams(ifindex, r.queues(), fd, size, false, Optional.empty()), release);
            return new KernelHeld(b.id(), ifindex, r.ifname(), size, allocation == null ? -1 : fd, b::close);
        } catch (DevmemException | RuntimeException | Error e) {
            release.run();
            throw e;
        }
    }

    static DmabufSource source(Wire.BindRequest r) {
        return switch (r.dmabufKind()) {
            case Wire.DMABUF_UDMABUF -> DmabufSource.udmabuf(r.size());
            case Wire.DMABUF_DMA_HEAP -> DmabufSource.dmaHeap(r.heap(), r.size());
            case Wire.DMABUF_EMULATED -> DmabufSource.emulated(r.size());
            default -> throw new IllegalArgumentException("dmabuf kind " + r.dmabufKind() + " is passed, not allocated");
        };
    }

    @Override
    public String describe() {
        return "the kernel (netdev bind-rx/bind-tx)";
    }

    private record KernelHeld(int id, int ifindex, String ifname, long size, int allocatedFd, Runnable unbind)
            implements Held {
        @Override
        public void close() {
            unbind.run(); // the netdev binding's close is idempotent
        }
    }
}
