package dev.devmem.cli;

import dev.devmem.api.spi.ForwardingBackend;
import dev.devmem.api.DevmemException;
import dev.devmem.api.RxBindingSpec;
import dev.devmem.api.spi.DevmemBackend;
import dev.devmem.api.spi.DevmemListener;
import dev.devmem.api.spi.RxBinding;

import java.net.InetSocketAddress;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * A backend that tells the command when the receiver has bound its dmabuf and opened its listener
 * (on the receiver's setup thread), so it can say "listening on HOST:PORT" with the real port (for
 * {@code --listen HOST:0}) at the moment a peer can connect, and so the in-process demo sender knows
 * where to connect. Everything else goes straight to the real backend.
 */
final class ObservedBackend extends ForwardingBackend {
    private final Consumer<RxBinding> onBound;
    private final Consumer<InetSocketAddress> onListening;

    ObservedBackend(DevmemBackend delegate, Consumer<RxBinding> onBound, Consumer<InetSocketAddress> onListening) {
        super(delegate);
        this.onBound = Objects.requireNonNull(onBound, "onBound");
        this.onListening = Objects.requireNonNull(onListening, "onListening");
    }

    @Override
    public RxBinding bindRx(RxBindingSpec spec) throws DevmemException {
        RxBinding b = delegate().bindRx(spec);
        onBound.accept(b);
        return b;
    }

    @Override
    public DevmemListener listen(InetSocketAddress local, int backlog) throws DevmemException {
        DevmemListener l = delegate().listen(local, backlog);
        onListening.accept(l.localAddress());
        return l;
    }
}
