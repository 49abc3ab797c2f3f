package dev.devmem.ffm.netdev;

/**
 * What a bind-rx and a bind-tx binding have in common: the netlink socket the kernel tied the
 * binding to, and where it is bound. The binding lives exactly as long as that socket, so closing
 * it is the only way to unbind, and the only release path.
 */
abstract sealed class NetdevBinding permits NetdevRxBinding, NetdevTxBinding {
    private final BindingSocket socket;
    private final String interfaceName;
    private final int ifindex;
    private final long dmabufSize;

    NetdevBinding(BindingSocket socket, String interfaceName, int ifindex, long dmabufSize) {
        this.socket = socket;
        this.interfaceName = interfaceName;
        this.ifindex = ifindex;
        this.dmabufSize = dmabufSize;
    }

    public int id() {
        return socket.id();
    }

    public String interfaceName() {
        return interfaceName;
    }

    public int ifindex() {
        return ifindex;
    }

    public long dmabufSize() {
        return dmabufSize;
    }

    public boolean isOpen() {
        return socket.isOpen();
    }

    public void close() {
        socket.close();
    }
}
