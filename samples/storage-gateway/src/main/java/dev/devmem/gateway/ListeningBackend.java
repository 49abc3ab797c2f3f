package dev.devmem.gateway;

import dev.devmem.api.DevmemException;
import dev.devmem.api.spi.DevmemBackend;
import dev.devmem.api.spi.ForwardingBackend;
import dev.devmem.api.spi.DevmemListener;

import java.net.InetSocketAddress;
import java.util.concurrent.CompletableFuture;

/**
 * A backend that reports the address its listener got, so the gateway can print the real port when
 * asked to listen on port 0. Every SPI method goes to the wrapped backend.
 */
final class ListeningBackend extends ForwardingBackend {
    private final CompletableFuture<InetSocketAddress> listening = new CompletableFuture<>();

    ListeningBackend(DevmemBackend inner) {
        super(inner);
    }

    CompletableFuture<InetSocketAddress> listening() {
        return listening;
    }

    @Override
    public DevmemListener listen(InetSocketAddress local, int backlog) throws DevmemException {
        DevmemListener l = delegate().listen(local, backlog);
        listening.complete(l.localAddress());
        return l;
    }
}
