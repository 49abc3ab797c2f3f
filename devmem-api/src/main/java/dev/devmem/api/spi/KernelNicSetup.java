package dev.devmem.api.spi;

import dev.devmem.api.DevmemException;

import java.net.InetAddress;
import java.util.List;

/**
 * Prepares a real NIC for devmem receive through the kernel's own interfaces, and undoes exactly
 * what it changed. Served by a backend module (devmem-ffm provides it through
 * {@link java.util.ServiceLoader}), so that code above the SPI asks for NIC setup without compiling
 * against a backend. Called on a setup thread: it may block (netlink, ioctl).
 */
public interface KernelNicSetup {

    /**
     * Header split on with hds-thresh 0, ntuple on, RSS kept off the devmem queues, and a flow rule
     * steering {@code localAddress:localPort} to the first of {@code rxQueues}. If it throws, nothing
     * is left applied.
     */
    Applied apply(String interfaceName, List<Integer> rxQueues, InetAddress localAddress, int localPort)
            throws DevmemException;

    /** What one {@link #apply} changed; {@link #close()} restores it, once. */
    interface Applied extends AutoCloseable {
        @Override
        void close() throws DevmemException;
    }
}
