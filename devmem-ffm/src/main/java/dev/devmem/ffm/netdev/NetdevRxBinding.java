package dev.devmem.ffm.netdev;

import dev.devmem.api.spi.RxBinding;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Optional;

/**
 * A dmabuf bound to rx queues with netdev's bind-rx. It owns the netlink socket the kernel tied the
 * binding to: {@link #close()} closes that socket, which makes the kernel restart the queues without
 * the dmabuf. Fragments already received stay valid until their tokens are released.
 *
 * <p>Garbage collection never unbinds: a binding nobody closed stays bound until the process
 * exits, so memory the NIC is using is never pulled away by the collector.
 */
public final class NetdevRxBinding implements RxBinding {
    private final BindingSocket socket;
    private final BindRxParams params;
    private final String interfaceName;

    NetdevRxBinding(BindingSocket socket, BindRxParams params, String interfaceName) {
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
    public List<Integer> rxQueues() {
        return params.rxQueues();
    }

    @Override
    public long dmabufSize() {
        return params.dmabufSize();
    }

    @Override
    public Optional<MemorySegment> hostView() {
        return params.hostView().map(MemorySegment::asReadOnly);
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
        return "NetdevRxBinding[id " + id() + ", " + interfaceName + " rx " + rxQueues() + (isOpen() ? "]" : ", closed]");
    }
}
