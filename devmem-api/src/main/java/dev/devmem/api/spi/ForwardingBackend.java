package dev.devmem.api.spi;

import dev.devmem.api.DevmemException;
import dev.devmem.api.RxBindingSpec;
import dev.devmem.api.TxBindingSpec;

import java.net.InetSocketAddress;
import java.util.Objects;

/**
 * A backend that passes every call to another one, for wrappers (observers, meters, timers, a
 * binder client) to override only the calls they care about. Every SPI method is forwarded,
 * including the defaulted ones such as {@code connectTx}: a wrapper that left one out would turn
 * the real backend's path into the default refusal.
 */
public abstract class ForwardingBackend implements DevmemBackend {
    private final DevmemBackend delegate;

    protected ForwardingBackend(DevmemBackend delegate) {
        this.delegate = Objects.requireNonNull(delegate, "delegate");
    }

    /** The backend every call goes to. */
    protected DevmemBackend delegate() {
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
        return delegate.bindRx(spec);
    }

    @Override
    public TxBinding bindTx(TxBindingSpec spec) throws DevmemException {
        return delegate.bindTx(spec);
    }

    @Override
    public DevmemListener listen(InetSocketAddress local, int backlog) throws DevmemException {
        return delegate.listen(local, backlog);
    }

    @Override
    public DevmemSocket connect(InetSocketAddress remote) throws DevmemException {
        return delegate.connect(remote);
    }

    @Override
    public DevmemTxSocket connectTx(InetSocketAddress remote, TxBinding binding) throws DevmemException {
        return delegate.connectTx(remote, binding);
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
