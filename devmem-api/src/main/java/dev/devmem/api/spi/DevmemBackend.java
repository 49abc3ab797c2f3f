package dev.devmem.api.spi;

import dev.devmem.api.DevmemException;
import dev.devmem.api.RxBindingSpec;
import dev.devmem.api.TxBindingSpec;

import java.net.InetSocketAddress;

/**
 * A platform that can bind device memory and receive devmem TCP: the Linux kernel, or the emulated
 * devmem NIC. Every object it returns has one owner and is released by {@code close()}.
 */
public interface DevmemBackend {

    /** A short name: {@code linux} or {@code emulated}. */
    String name();

    /** Whether this backend can run here, and if not, why. */
    BackendAvailability availability();

    /**
     * Binds a dmabuf to rx queues. The binding lives until {@link RxBinding#close()} (for Linux: the
     * netlink socket that made it is closed, which is how the kernel unbinds).
     */
    RxBinding bindRx(RxBindingSpec spec) throws DevmemException;

    /** Binds a dmabuf for devmem TX (Linux 6.16+). */
    TxBinding bindTx(TxBindingSpec spec) throws DevmemException;

    /** A non-blocking TCP listener. */
    DevmemListener listen(InetSocketAddress local, int backlog) throws DevmemException;

    /** Connects a TCP socket (blocking until connected or failed), then makes it non-blocking. */
    DevmemSocket connect(InetSocketAddress remote) throws DevmemException;

    /** A waiter for this backend's listeners and sockets, one per I/O thread. */
    IoWaiter newIoWaiter() throws DevmemException;
}
