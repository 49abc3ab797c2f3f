package dev.devmem.api.spi;

import dev.devmem.api.DevmemException;
import dev.devmem.api.DevmemUnsupportedException;
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

    /**
     * Binds a dmabuf for devmem TX (Linux 6.16+). The binding lives until {@link TxBinding#close()}.
     * With {@link TxBindingSpec#copyFallback()} a kernel or driver without devmem TX yields a
     * host-memory binding that says so ({@link TxBinding#fallbackCause()}).
     */
    TxBinding bindTx(TxBindingSpec spec) throws DevmemException;

    /** A non-blocking TCP listener. */
    DevmemListener listen(InetSocketAddress local, int backlog) throws DevmemException;

    /** Connects a TCP socket (blocking until connected or failed), then makes it non-blocking. */
    DevmemSocket connect(InetSocketAddress remote) throws DevmemException;

    /**
     * Connects a TCP socket for devmem TX through {@code binding} (blocking until connected or
     * failed), turns on {@code SO_ZEROCOPY} and makes it non-blocking. The socket does not own the
     * binding: close the socket first, then the binding.
     *
     * <p>The default refuses: a backend that has no TX path says so.
     */
    default DevmemTxSocket connectTx(InetSocketAddress remote, TxBinding binding) throws DevmemException {
        throw new DevmemUnsupportedException("devmem TX on the " + name() + " backend", null,
                "the " + name() + " backend has no devmem TX path");
    }

    /** A waiter for this backend's listeners and sockets, one per I/O thread. */
    IoWaiter newIoWaiter() throws DevmemException;
}
