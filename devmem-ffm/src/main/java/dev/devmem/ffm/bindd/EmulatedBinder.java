package dev.devmem.ffm.bindd;

import dev.devmem.api.DevmemException;
import dev.devmem.api.DevmemUnsupportedException;
import dev.devmem.api.DmabufSource;
import dev.devmem.api.Errno;
import dev.devmem.api.RxBindingSpec;
import dev.devmem.api.SyscallException;
import dev.devmem.api.TxBindingSpec;
import dev.devmem.ffm.emulated.EmulatedNic;
import dev.devmem.ffm.emulated.EmulatedNicConfig;
import dev.devmem.ffm.sys.Syscalls;

import static dev.devmem.ffm.sys.LinuxConstants.F_ADD_SEALS;
import static dev.devmem.ffm.sys.LinuxConstants.F_SEAL_SHRINK;
import static dev.devmem.ffm.sys.LinuxConstants.MFD_ALLOW_SEALING;
import static dev.devmem.ffm.sys.LinuxConstants.MFD_CLOEXEC;

/**
 * The daemon side of the emulated devmem NIC: its control plane. The emulated NIC's data path
 * reads the receiving process's own TCP sockets, so it can only live in that process; what a kernel
 * would decide centrally lives here instead, behind the same wire protocol as {@link KernelBinder}:
 * the interface and queue checks, the binding id, which queue is taken (EEXIST for a second
 * client), the mapping of the dmabuf the client passed (or the memfd allocated for it), and the
 * lifetime, which ends with the client's connection. The client then installs the binding in its
 * own emulated NIC ({@link BinderBackend}), and unbinds it when the daemon lets go.
 */
final class EmulatedBinder implements Binder, AutoCloseable {
    private final EmulatedNic nic;

    EmulatedBinder(EmulatedNicConfig config) throws DevmemException {
        this.nic = EmulatedNic.create(config);
    }

    EmulatedNic nic() {
        return nic;
    }

    @Override
    public Held bind(Wire.BindRequest r, int passedFd) throws DevmemException {
        int fd = passedFd;
        int allocated = -1;
        if (passedFd < 0) {
            if (r.dmabufKind() == Wire.DMABUF_DMA_HEAP) {
                throw new DevmemUnsupportedException("emulated bind of a DMA heap", null,
                        "the emulated NIC uses host memory only (emulated, udmabuf or a memfd fd), not a DMA heap");
            }
            allocated = memfd(r.size());
            fd = allocated;
        }
        try {
            DmabufSource source = DmabufSource.ofFd(fd, r.size());
            AutoCloseable binding;
            int id;
            if (r.tx()) {
                var b = nic.bindTx(new TxBindingSpec(r.ifname(), source));
                binding = b;
                id = b.id();
            } else {
                var b = nic.bindRx(new RxBindingSpec(r.ifname(), r.queues(), source));
                binding = b;
                id = b.id();
            }
            int toClose = allocated;
            return new EmulatedHeld(id, nic.ifindex(), r.ifname(), r.size(), allocated, () -> {
                try {
                    binding.close();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                } finally {
                    Syscalls.closeQuietly(toClose);
                }
            });
        } catch (DevmemException | RuntimeException | Error e) {
            Syscalls.closeQuietly(allocated);
            throw e;
        }
    }

    private static int memfd(long size) throws SyscallException {
        int fd = Syscalls.check(Syscalls.memfdCreate("devmem-bindd-dmabuf", MFD_CLOEXEC | MFD_ALLOW_SEALING),
                "memfd_create");
        int r = Syscalls.ftruncate(fd, size);
        if (r == 0) {
            r = Syscalls.fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK);
        }
        if (r < 0) {
            Syscalls.closeQuietly(fd);
            throw new SyscallException("ftruncate/seal memfd of " + size + " bytes", Errno.of(-r));
        }
        return fd;
    }

    @Override
    public String describe() {
        return "the control plane of emulated devmem NIC " + nic.config().interfaceName() + " ("
                + nic.config().rxQueues() + " rx queues)";
    }

    @Override
    public void close() {
        nic.close();
    }

    private static final class EmulatedHeld implements Held {
        private final int id;
        private final int ifindex;
        private final String ifname;
        private final long size;
        private final int allocatedFd;
        private final Runnable release;
        private boolean closed;

        EmulatedHeld(int id, int ifindex, String ifname, long size, int allocatedFd, Runnable release) {
            this.id = id;
            this.ifindex = ifindex;
            this.ifname = ifname;
            this.size = size;
            this.allocatedFd = allocatedFd;
            this.release = release;
        }

        @Override
        public int id() {
            return id;
        }

        @Override
        public int ifindex() {
            return ifindex;
        }

        @Override
        public String ifname() {
            return ifname;
        }

        @Override
        public long size() {
            return size;
        }

        @Override
        public int allocatedFd() {
            return allocatedFd;
        }

        @Override
        public synchronized void close() {
            if (!closed) {
                closed = true;
                release.run();
            }
        }
    }
}
