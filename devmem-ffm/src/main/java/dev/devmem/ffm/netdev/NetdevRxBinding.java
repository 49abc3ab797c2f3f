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
public final class NetdevRxBinding extends NetdevBinding implements RxBinding {
    private final BindRxParams params;

    NetdevRxBinding(BindingSocket socket, BindRxParams params, String interfaceName) {
        super(socket, interfaceName, params.ifindex(), params.dmabufSize());
        this.params = params;
    }

    @Override
    public List<Integer> rxQueues() {
        return params.rxQueues();
    }

    @Override
    public Optional<MemorySegment> hostView() {
        return params.hostView().map(MemorySegment::asReadOnly);
    }

    @Override
    public String toString() {
        return "NetdevRxBinding[id " + id() + ", " + interfaceName() + " rx " + rxQueues() + (isOpen() ? "]" : ", closed]");
    }
}
