package dev.devmem.ffm.emulated;

import dev.devmem.api.DevmemException;
import dev.devmem.api.RxBindingSpec;
import dev.devmem.api.TxBindingSpec;
import dev.devmem.api.spi.BackendAvailability;
import dev.devmem.api.spi.DevmemBackend;
import dev.devmem.api.spi.DevmemListener;
import dev.devmem.api.spi.DevmemSocket;
import dev.devmem.api.spi.DevmemTxSocket;
import dev.devmem.api.spi.IoWaiter;
import dev.devmem.api.spi.TxBinding;
import dev.devmem.ffm.rx.DevmemSocketImpl;
import dev.devmem.ffm.rx.DmabufViews;
import dev.devmem.ffm.rx.PollIoWaiter;
import dev.devmem.ffm.rx.PollSource;
import dev.devmem.ffm.RxSocketOptions;
import dev.devmem.ffm.tx.DevmemTxSocketImpl;

import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.util.Objects;

/**
 * The emulated devmem NIC as a {@link DevmemBackend}: the same SPI as the Linux backend, so a
 * pipeline built on {@code devmem-reactor} runs unchanged on either. Sockets are real kernel TCP
 * sockets (usually loopback) read through {@link EmulatedEndpoint}s, and received through the same
 * {@link DevmemSocketImpl} engine the Linux backend uses; DMABUF fragments are host-readable
 * because the emulated dmabuf is a memfd.
 *
 * <p>The backend owns its {@link EmulatedNic} and closes it with {@link #close()}.
 */
public final class EmulatedBackend implements DevmemBackend, AutoCloseable {
    private final EmulatedNic nic;
    private final RxSocketOptions options;
    private final DmabufViews views = new LiveViews();

    private EmulatedBackend(EmulatedNic nic, RxSocketOptions options) {
        this.nic = nic;
        this.options = options;
    }

    /** A backend over a new emulated NIC with {@code config}, sockets with default native buffers. */
    public static EmulatedBackend create(EmulatedNicConfig config) throws DevmemException {
        return create(config, RxSocketOptions.defaults());
    }

    /** A backend over a new emulated NIC with {@code config}; {@code options} size every socket's native buffers. */
    public static EmulatedBackend create(EmulatedNicConfig config, RxSocketOptions options) throws DevmemException {
        Objects.requireNonNull(options, "options");
        return new EmulatedBackend(EmulatedNic.create(config), options);
    }

    /** The emulated device, for its counters and introspection (which queue holds which binding). */
    public EmulatedNic nic() {
        return nic;
    }

    public RxSocketOptions options() {
        return options;
    }

    @Override
    public String name() {
        return "emulated";
    }

    @Override
    public BackendAvailability availability() {
        EmulatedNicConfig c = nic.config();
        return BackendAvailability.yes("emulated devmem NIC " + c.interfaceName() + " (" + c.rxQueues()
                + " rx queues, " + c.fragSize() + "-byte buffers) over real kernel TCP sockets");
    }

    @Override
    public EmulatedRxBinding bindRx(RxBindingSpec spec) throws DevmemException {
        return nic.bindRx(spec);
    }

    /** {@code bind-tx} on the emulated NIC: a writable memfd "dmabuf"; see {@link EmulatedNic#bindTx}. */
    @Override
    public EmulatedTxBinding bindTx(TxBindingSpec spec) throws DevmemException {
        return nic.bindTx(spec);
    }

    @Override
    public DevmemListener listen(InetSocketAddress local, int backlog) throws DevmemException {
        Objects.requireNonNull(local, "local");
        if (backlog < 1) {
            throw new IllegalArgumentException("backlog must be >= 1, was " + backlog);
        }
        return new Listener(nic.listen(local, backlog));
    }

    @Override
    public DevmemSocket connect(InetSocketAddress remote) throws DevmemException {
        Objects.requireNonNull(remote, "remote");
        return new DevmemSocketImpl(nic.connect(remote), options, views);
    }

    /**
     * A TCP connection through the emulated NIC whose sends read the TX binding's memfd dmabuf (see
     * {@link EmulatedTx}), driven by the same {@link DevmemTxSocketImpl} engine as the Linux backend.
     * A binding of another NIC is the kernel's "route device differs": its sends fail with ENODEV.
     */
    @Override
    public DevmemTxSocket connectTx(InetSocketAddress remote, TxBinding binding) throws DevmemException {
        Objects.requireNonNull(remote, "remote");
        Objects.requireNonNull(binding, "binding");
        return new DevmemTxSocketImpl(nic.connect(remote));
    }

    /** A synthetic socket (no TCP) on rx queue {@code queue}; see {@link EmulatedNic#synthetic}. */
    public DevmemSocket synthetic(int queue, SyntheticStream stream) throws DevmemException {
        return new DevmemSocketImpl(nic.synthetic(queue, stream), options, views);
    }

    @Override
    public IoWaiter newIoWaiter() throws DevmemException {
        return new PollIoWaiter();
    }

    /** Unbinds everything and closes the NIC (memory of held frags stays until they are released). */
    @Override
    public void close() {
        nic.close();
    }

    @Override
    public String toString() {
        return "EmulatedBackend[" + nic + "]";
    }

    /**
     * Host views by binding id, cached for the hot path: a DMABUF frag looks up its binding's view, and
     * almost always finds the one the previous frag used.
     */
    private final class LiveViews implements DmabufViews {
        private record Cached(int id, MemorySegment view) {
        }

        private volatile Cached last;

        @Override
        public MemorySegment hostView(int dmabufId) {
            Cached c = last;
            if (c != null && c.id == dmabufId && c.view.scope().isAlive()) {
                return c.view;
            }
            for (EmulatedRxBinding candidate : nic.liveBindings()) {
                if (candidate.id() == dmabufId && !candidate.isMemoryReleased()) {
                    MemorySegment view = candidate.hostView().orElse(null);
                    if (view != null) {
                        last = new Cached(dmabufId, view);
                    }
                    return view;
                }
            }
            return null;
        }
    }

    private final class Listener implements DevmemListener, PollSource {
        private final EmulatedListener listener;

        Listener(EmulatedListener listener) {
            this.listener = listener;
        }

        @Override
        public InetSocketAddress localAddress() {
            return listener.localAddress();
        }

        @Override
        public DevmemSocket accept() throws DevmemException {
            EmulatedEndpoint endpoint = listener.accept();
            return endpoint == null ? null : new DevmemSocketImpl(endpoint, options, views);
        }

        @Override
        public int pollFd() {
            return listener.pollFd();
        }

        @Override
        public short pollEvents() {
            return listener.pollEvents();
        }

        @Override
        public void close() {
            listener.close();
        }
    }
}
