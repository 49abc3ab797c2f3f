package dev.devmem.ffm.linux;

import dev.devmem.api.DevmemException;
import dev.devmem.api.Errno;
import dev.devmem.api.RxBindingSpec;
import dev.devmem.api.SyscallException;
import dev.devmem.api.TxBindingSpec;
import dev.devmem.api.spi.BackendAvailability;
import dev.devmem.api.spi.DevmemBackend;
import dev.devmem.api.spi.DevmemListener;
import dev.devmem.api.spi.DevmemSocket;
import dev.devmem.api.spi.DevmemTxSocket;
import dev.devmem.api.spi.IoWaiter;
import dev.devmem.api.spi.RxBinding;
import dev.devmem.api.spi.TxBinding;
import dev.devmem.ffm.rx.DevmemSocketImpl;
import dev.devmem.ffm.rx.PollIoWaiter;
import dev.devmem.ffm.RxSocketOptions;
import dev.devmem.ffm.sys.LinuxConstants;
import dev.devmem.ffm.sys.Syscalls;
import dev.devmem.ffm.tx.DevmemTxSocketImpl;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * The real kernel as a devmem backend: TCP sockets through FFM system calls, received through the
 * shared {@link DevmemSocketImpl} engine.
 *
 * <p>Bindings go through netlink ({@code netdev bind-rx}/{@code bind-tx}) with a dmabuf from one of
 * the exporters ({@link dev.devmem.ffm.dmabuf.DmabufExporters}). Sockets work regardless of
 * bindings: on a flow that no devmem queue receives (loopback, any ordinary NIC) the kernel returns
 * plain data, which arrives as HOST fragments.
 */
public final class LinuxBackend implements DevmemBackend {
    public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(30);
    private static final int EINPROGRESS = Errno.EINPROGRESS.number();
    private static final int EINTR = Errno.EINTR.number();

    private final RxSocketOptions options;
    private final Duration connectTimeout;

    public LinuxBackend() {
        this(RxSocketOptions.defaults(), DEFAULT_CONNECT_TIMEOUT);
    }

    /**
     * @param options        native memory of every socket this backend opens or accepts
     * @param connectTimeout how long {@link #connect} waits for the handshake; positive
     */
    public LinuxBackend(RxSocketOptions options, Duration connectTimeout) {
        this.options = Objects.requireNonNull(options, "options");
        this.connectTimeout = Objects.requireNonNull(connectTimeout, "connectTimeout");
        if (connectTimeout.isNegative() || connectTimeout.isZero()) {
            throw new IllegalArgumentException("connectTimeout must be positive, was " + connectTimeout);
        }
    }

    @Override
    public String name() {
        return "linux";
    }

    /** The kernel's answer to a devmem probe, made once per JVM. */
    @Override
    public BackendAvailability availability() {
        return DevmemRxProbe.result().availability();
    }

    /** The devmem RX probe asked again now (not the answer cached for {@link #availability()}). */
    public static BackendAvailability probeDevmemRx() {
        return DevmemRxProbe.run().availability();
    }

    /** Why {@link #availability()} said no: the errno or linkage failure the probe met. */
    public Optional<Throwable> unavailabilityCause() {
        return Optional.ofNullable(DevmemRxProbe.result().cause());
    }

    public RxSocketOptions options() {
        return options;
    }

    /**
     * Exports the spec's dmabuf (udmabuf, dma-heap, CUDA, or the caller's fd) and binds it with netdev
     * bind-rx in the calling thread's network namespace. Needs CAP_NET_ADMIN. The returned binding owns
     * its netlink socket and the exported dmabuf; closing it unbinds, then frees the dmabuf.
     */
    @Override
    public RxBinding bindRx(RxBindingSpec spec) throws DevmemException {
        Objects.requireNonNull(spec, "spec");
        return LinuxBindings.bindRx(spec);
    }

    /**
     * Like {@link #bindRx}, for devmem TX (netdev bind-tx, Linux 6.16+). Needs no privilege on Linux
     * 6.16 to 6.19; a kernel that checks one answers EPERM, explained. With
     * {@link TxBindingSpec#copyFallback()}, EOPNOTSUPP (the driver has no netmem TX) or a kernel without
     * bind-tx yields a host-memory binding of id 0 instead, when the dmabuf can be mapped.
     */
    @Override
    public TxBinding bindTx(TxBindingSpec spec) throws DevmemException {
        Objects.requireNonNull(spec, "spec");
        return LinuxBindings.bindTx(spec);
    }

    /** An AF_INET or AF_INET6 listener (per the address) with SO_REUSEADDR, non-blocking. */
    @Override
    public DevmemListener listen(InetSocketAddress local, int backlog) throws DevmemException {
        Objects.requireNonNull(local, "local");
        if (backlog < 1) {
            throw new IllegalArgumentException("backlog must be >= 1, was " + backlog);
        }
        int fd = LinuxSockets.openTcp(local);
        try {
            LinuxSockets.setInt(fd, LinuxConstants.SOL_SOCKET, LinuxConstants.SO_REUSEADDR, 1, "setsockopt(SO_REUSEADDR)");
            int r = LinuxSockets.bind(fd, local);
            if (r < 0) {
                throw LinuxSockets.failure("bind(" + LinuxSockets.describe(local) + ")", r);
            }
            r = Syscalls.listen(fd, backlog);
            if (r < 0) {
                throw LinuxSockets.failure("listen(" + LinuxSockets.describe(local) + ")", r);
            }
            return new LinuxListener(fd, options);
        } catch (DevmemException | RuntimeException e) {
            Syscalls.close(fd);
            throw e;
        }
    }

    /**
     * Connects without blocking the kernel socket: a non-blocking {@code connect}, then {@code poll}
     * for writability up to the connect timeout, then {@code SO_ERROR} for the outcome.
     *
     * @throws SyscallException naming the remote address, e.g. ECONNREFUSED, or ETIMEDOUT when the
     *                          handshake did not finish in time
     */
    @Override
    public DevmemSocket connect(InetSocketAddress remote) throws DevmemException {
        Objects.requireNonNull(remote, "remote");
        int fd = connectFd(remote, null);
        return new DevmemSocketImpl(new LinuxSocketEndpoint(fd), options); // closes the endpoint if it fails
    }

    /**
     * Connects for devmem TX: the socket is bound to the binding's interface first
     * ({@code SO_BINDTODEVICE}, so that the route leaves through the device the dmabuf is bound to,
     * which the kernel requires: ENODEV otherwise), then connected like {@link #connect}, then
     * {@code SO_ZEROCOPY} is turned on. Copy-fallback bindings are bound to their interface too.
     */
    @Override
    public DevmemTxSocket connectTx(InetSocketAddress remote, TxBinding binding) throws DevmemException {
        Objects.requireNonNull(remote, "remote");
        Objects.requireNonNull(binding, "binding");
        int fd = connectFd(remote, binding.interfaceName());
        return new DevmemTxSocketImpl(new LinuxSocketEndpoint(fd)); // closes the fd if SO_ZEROCOPY fails
    }

    /**
     * A connected, non-blocking TCP socket: a non-blocking {@code connect}, then {@code poll} for
     * writability up to the connect timeout, then {@code SO_ERROR} for the outcome.
     *
     * @param device the interface to bind to first ({@code SO_BINDTODEVICE}), or null
     * @throws SyscallException naming the remote address, e.g. ECONNREFUSED, or ETIMEDOUT when the
     *                          handshake did not finish in time
     */
    private int connectFd(InetSocketAddress remote, String device) throws DevmemException {
        String operation = "connect(" + LinuxSockets.describe(remote) + ")";
        int fd = LinuxSockets.openTcp(remote);
        try {
            if (device != null) {
                LinuxSockets.bindToDevice(fd, device);
            }
            int r = LinuxSockets.connect(fd, remote);
            if (r < 0 && r != -EINPROGRESS && r != -EINTR) {
                throw LinuxSockets.failure(operation, r);
            }
            if (r < 0) {
                awaitConnected(fd, operation);
            }
            return fd;
        } catch (DevmemException | RuntimeException e) {
            Syscalls.close(fd);
            throw e;
        }
    }

    private void awaitConnected(int fd, String operation) throws SyscallException {
        long deadline = System.nanoTime() + connectTimeout.toNanos();
        while (true) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new SyscallException(operation, Errno.ETIMEDOUT,
                        "no handshake within " + connectTimeout.toMillis() + " ms");
            }
            int r = LinuxSockets.pollOne(fd, LinuxConstants.POLLOUT, PollIoWaiter.timeoutMillisOf(left));
            if (r == -EINTR || r == 0) {
                continue;
            }
            if (r < 0) {
                throw LinuxSockets.failure("poll during " + operation, r);
            }
            int error = LinuxSockets.soError(fd);
            if (error != 0) {
                throw new SyscallException(operation, Errno.of(error));
            }
            return;
        }
    }

    @Override
    public IoWaiter newIoWaiter() throws DevmemException {
        return new PollIoWaiter();
    }

    @Override
    public String toString() {
        return "LinuxBackend[" + options + "]";
    }
}
