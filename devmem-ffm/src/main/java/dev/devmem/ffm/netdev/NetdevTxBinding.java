package dev.devmem.ffm.netdev;

import dev.devmem.api.spi.TxBinding;

import java.lang.foreign.MemorySegment;
import java.util.Optional;

/**
 * A dmabuf bound for devmem TX with netdev's bind-tx (Linux 6.16+). It owns the netlink socket the
 * binding lives on; closing it removes the id, after which sends that name it fail. Garbage
 * collection never unbinds: close it.
 */
public final class NetdevTxBinding implements TxBinding {
    private final BindingSocket socket;
    private final BindTxParams params;
    private final String interfaceName;

    NetdevTxBinding(BindingSocket socket, BindTxParams params, String interfaceName) {
        this.socket = socket;
        this.params = params;
        this.interfaceName = interfaceName;
    }

    @Override
    public int id() {
        return socket.id();
    }

    @Override
    public String interfaceName() {
        return interfaceName;
    }

    @Override
    public int ifindex() {
        return params.ifindex();
    }

    @Override
    public long dmabufSize() {
        return params.dmabufSize();
    }

    @Override
    public Optional<MemorySegment> hostView() {
        return params.hostView();
    }

    @Override
    public boolean isOpen() {
        return socket.isOpen();
    }

    @Override
    public void close() {
        socket.close();
    }

    @Override
    public String toString() {
        return "NetdevTxBinding[id " + id() + ", " + interfaceName + (isOpen() ? "]" : ", closed]");
    }
}
