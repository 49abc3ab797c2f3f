package dev.devmem.cli;

import dev.devmem.api.DevmemException;
import dev.devmem.api.RxBindingSpec;
import dev.devmem.api.TxBindingSpec;
import dev.devmem.api.spi.BackendAvailability;
import dev.devmem.api.spi.DevmemBackend;
import dev.devmem.api.spi.DevmemListener;
import dev.devmem.api.spi.DevmemSocket;
import dev.devmem.api.spi.DevmemTxSocket;
import dev.devmem.api.spi.IoWaiter;
import dev.devmem.api.spi.RxBinding;
import dev.devmem.api.spi.TxBinding;

import java.net.InetSocketAddress;
import java.util.Objects;

/**
 * A backend that passes every call to another one, for the command's observers to override only
 * the calls they watch. Every SPI method is forwarded, including the defaulted {@code connectTx}:
 * a wrapper that left it out would turn the real backend's TX path into the default refusal.
 */
abstract class ForwardingBackend implements DevmemBackend {
    private final DevmemBackend delegate;

    ForwardingBackend(DevmemBackend delegate) {
        this.delegate = Objects.requireNonNull(delegate, "delegate");
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
