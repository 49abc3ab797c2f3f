package dev.devmem.gateway;

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
import java.util.concurrent.CompletableFuture;

/**
 * A backend that reports the address its listener got, so the gateway can print the real port when
 * asked to listen on port 0. Every SPI method goes to the wrapped backend.
 */
final class ListeningBackend implements DevmemBackend {
    private final DevmemBackend inner;
    private final CompletableFuture<InetSocketAddress> listening = new CompletableFuture<>();

    ListeningBackend(DevmemBackend inner) {
        this.inner = inner;
    }

    CompletableFuture<InetSocketAddress> listening() {
        return listening;
    }

    @Override
    public String name() {
        return inner.name();
    }

    @Override
    public BackendAvailability availability() {
        return inner.availability();
    }

    @Override
    public RxBinding bindRx(RxBindingSpec spec) throws DevmemException {
        return inner.bindRx(spec);
    }

    @Override
    public TxBinding bindTx(TxBindingSpec spec) throws DevmemException {
        return inner.bindTx(spec);
    }

    @Override
    public DevmemListener listen(InetSocketAddress local, int backlog) throws DevmemException {
        DevmemListener l = inner.listen(local, backlog);
        listening.complete(l.localAddress());
        return l;
    }

    @Override
    public DevmemSocket connect(InetSocketAddress remote) throws DevmemException {
        return inner.connect(remote);
    }

    @Override
    public DevmemTxSocket connectTx(InetSocketAddress remote, TxBinding binding) throws DevmemException {
        return inner.connectTx(remote, binding);
    }

    @Override
    public IoWaiter newIoWaiter() throws DevmemException {
        return inner.newIoWaiter();
    }
}
