package dev.devmem.cli;

import dev.devmem.api.DevmemException;
import dev.devmem.api.RxBindingSpec;
import dev.devmem.api.TxBindingSpec;
import dev.devmem.api.spi.BackendAvailability;
import dev.devmem.api.spi.DevmemBackend;
import dev.devmem.api.spi.DevmemListener;
import dev.devmem.api.spi.DevmemSocket;
import dev.devmem.api.spi.IoWaiter;
import dev.devmem.api.spi.RxBinding;
import dev.devmem.api.spi.TxBinding;

import java.net.InetSocketAddress;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * A backend that tells the command when the receiver has bound its dmabuf and opened its listener
 * (on the receiver's setup thread), so it can say "listening on HOST:PORT" with the real port (for
 * {@code --listen HOST:0}) at the moment a peer can connect, and so the in-process demo sender knows
 * where to connect. Everything else goes straight to the real backend.
 */
final class ObservedBackend implements DevmemBackend {
    private final DevmemBackend delegate;
    private final Consumer<RxBinding> onBound;
    private final Consumer<InetSocketAddress> onListening;

    ObservedBackend(DevmemBackend delegate, Consumer<RxBinding> onBound, Consumer<InetSocketAddress> onListening) {
        this.delegate = Objects.requireNonNull(delegate, "delegate");
        this.onBound = Objects.requireNonNull(onBound, "onBound");
        this.onListening = Objects.requireNonNull(onListening, "onListening");
    }

    DevmemBackend delegate() {
        return delegate;
    }

    @Override
    public String name() {
        return delegate.name();
    }

    @Override
    public BackendAvailability availability() {
        return delegate.availability();
    }

    @Override
    public RxBinding bindRx(RxBindingSpec spec) throws DevmemException {
        RxBinding b = delegate.bindRx(spec);
        onBound.accept(b);
        return b;
    }

    @Override
    public TxBinding bindTx(TxBindingSpec spec) throws DevmemException {
        return delegate.bindTx(spec);
    }

    @Override
    public DevmemListener listen(InetSocketAddress local, int backlog) throws DevmemException {
        DevmemListener l = delegate.listen(local, backlog);
        onListening.accept(l.localAddress());
        return l;
    }

    @Override
    public DevmemSocket connect(InetSocketAddress remote) throws DevmemException {
        return delegate.connect(remote);
    }

    @Override
    public IoWaiter newIoWaiter() throws DevmemException {
        return delegate.newIoWaiter();
    }

    @Override
    public String toString() {
        return delegate.toString();
    }
}
