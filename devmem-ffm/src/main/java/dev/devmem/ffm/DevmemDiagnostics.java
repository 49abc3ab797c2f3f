package dev.devmem.ffm;

import dev.devmem.api.Errno;
import dev.devmem.api.NetlinkException;
import dev.devmem.api.SyscallException;
import dev.devmem.api.spi.BackendAvailability;
import dev.devmem.ffm.linux.LinuxBackend;
import dev.devmem.ffm.netdev.BindRxParams;
import dev.devmem.ffm.netdev.BindTxParams;
import dev.devmem.ffm.netdev.Netdev;
import dev.devmem.ffm.sys.LinuxConstants;
import dev.devmem.ffm.sys.Syscalls;

import java.util.List;
import java.util.Optional;

/**
 * What a diagnostic tool (such as {@code devmem doctor}) asks the running kernel, as answers rather
 * than system calls. Each question is harmless: no probe leaves anything bound or open.
 */
public final class DevmemDiagnostics {
    private DevmemDiagnostics() {
    }

    /**
     * Whether the kernel has devmem RX, asked fresh: {@code setsockopt(SO_DEVMEM_DONTNEED)} on a new
     * TCP socket answers a count when it does and {@code ENOPROTOOPT} when not. The same probe
     * {@link DevmemBackends#linux()} reports as its availability.
     */
    public static BackendAvailability devmemRx() {
        return LinuxBackend.probeDevmemRx();
    }

    /**
     * The index of interface {@code name} in the calling thread's network namespace.
     *
     * @throws SyscallException ENODEV when there is none
     */
    public static int interfaceIndex(String name) throws SyscallException {
        int r = Syscalls.ifNameToIndex(name);
        if (r < 0) {
            throw new SyscallException("if_nametoindex(" + name + ")", Errno.of(-r),
                    "there is no interface " + name + " in this network namespace");
        }
        return r;
    }

    /** The name of interface {@code ifindex}, if there is one. */
    public static Optional<String> interfaceName(int ifindex) {
        return Optional.ofNullable(Syscalls.ifIndexToName(ifindex));
    }

    /**
     * Asks bind-rx (queue 0) or bind-tx on {@code ifindex} with a memfd in place of a dma-buf,
     * which no device can bind: how far the kernel gets before refusing tells what the device can
     * do. A binding that forms anyway is closed at once.
     *
     * @return the kernel's refusal, or empty when it bound
     */
    public static Optional<NetlinkException> probeBind(int ifindex, boolean rx) {
        String op = rx ? "netdev bind-rx" : "netdev bind-tx";
        int fd = Syscalls.memfdCreate("devmem-doctor", LinuxConstants.MFD_CLOEXEC);
        if (fd < 0) {
            return Optional.of(new NetlinkException("memfd_create", Errno.of(-fd), null, null, null, null,
                    "memfd_create failed: " + Errno.of(-fd)));
        }
        try (Netdev netdev = Netdev.open()) {
            AutoCloseable b = rx ? netdev.bindRx(BindRxParams.of(ifindex, List.of(0), fd, 4096))
                    : netdev.bindTx(BindTxParams.of(ifindex, fd, 4096));
            b.close();
            return Optional.empty();
        } catch (NetlinkException e) {
            return Optional.of(e);
        } catch (Exception e) {
            return Optional.of(new NetlinkException(op, Errno.EIO, null, null, null, null, e.getMessage()));
        } finally {
            Syscalls.close(fd);
        }
    }
}
