package dev.devmem.ffm.netdev;

import dev.devmem.api.spi.TxBinding;

import java.lang.foreign.MemorySegment;
import java.util.Optional;

/**
 * A dmabuf bound for devmem TX with netdev's bind-tx (Linux 6.16+). It owns the netlink socket the
 * binding lives on; closing it removes the id, after which sends that name it fail. Garbage
 * collection never unbinds: close it.
 */
public final class NetdevTxBinding extends NetdevBinding implements TxBinding {
    private final BindTxParams params;

    NetdevTxBinding(BindingSocket socket, BindTxParams params, String interfaceName) {
        super(socket, interfaceName, params.ifindex(), params.dmabufSize());
        this.params = params;
    }

    @Override
    public Optional<MemorySegment> hostView() {
        return params.hostView();
    }

    @Override
    public String toString() {
        return "NetdevTxBinding[id " + id() + ", " + interfaceName() + (isOpen() ? "]" : ", closed]");
    }
}
