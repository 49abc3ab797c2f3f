package dev.devmem.ffm.netdev;

import dev.devmem.api.DevmemException;
import dev.devmem.api.DevmemProtocolException;
import dev.devmem.ffm.netlink.ErrorExplainer;
import dev.devmem.ffm.netlink.GenlMessage;
import dev.devmem.ffm.netlink.GenlRequest;
import dev.devmem.ffm.netlink.NetlinkSocket;
import dev.devmem.ffm.sys.Syscalls;

import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

import static dev.devmem.ffm.netdev.NetdevSpec.DMABUF_ID;

/**
 * The netlink socket a binding lives on, with the binding's id. The kernel ties a dmabuf binding to
 * the socket that made it and undoes it when that socket closes (there is no unbind command), so
 * every binding gets a fresh socket; a failed bind closes it before the error leaves, so there is
 * never a half-made binding.
 */
final class BindingSocket {
    private final NetlinkSocket socket;
    private final int id;
    private final int dmabufFd;
    private final boolean ownsDmabufFd;
    private final Runnable alsoRelease;
    private final AtomicBoolean closed = new AtomicBoolean();

    BindingSocket(NetlinkSocket socket, int id, int dmabufFd, boolean ownsDmabufFd, Runnable alsoRelease) {
        this.socket = socket;
        this.id = id;
        this.dmabufFd = dmabufFd;
        this.ownsDmabufFd = ownsDmabufFd;
        this.alsoRelease = alsoRelease;
    }

    /**
     * Opens a socket in the calling thread's namespace, sends {@code request}, and keeps the socket.
     * {@code alsoRelease} becomes the binding's only when this returns.
     */
    static BindingSocket bind(GenlRequest request, ErrorExplainer explainer, int dmabufFd, boolean ownsDmabufFd,
                              Runnable alsoRelease) throws DevmemException {
        NetlinkSocket socket = NetlinkSocket.open();
        try {
            List<GenlMessage> replies = socket.request(request, explainer);
            if (replies.size() != 1) {
                throw new DevmemProtocolException(request.operation() + ": expected one reply, got " + replies.size());
            }
            return new BindingSocket(socket, replies.getFirst().attributes().requireU32(DMABUF_ID), dmabufFd,
                    ownsDmabufFd, alsoRelease);
        } catch (DevmemException | RuntimeException | Error e) {
            socket.close();
            throw e;
        }
    }

    int id() {
        return id;
    }

    boolean isOpen() {
        return !closed.get();
    }

    /**
     * Unbinds (closes the socket), then closes the dmabuf fd when owned, then runs {@code alsoRelease}.
     * Only the first call does anything, so a racing second close cannot release the dmabuf while the
     * first is still unbinding.
     */
    void close() {
        if (closed.compareAndSet(false, true)) {
            try {
                socket.close();
            } finally {
                // The kernel holds its own dmabuf reference while bound, so releasing ours after a failed
                // unbind frees nothing it still uses; skipping it would leak the dmabuf for good.
                if (ownsDmabufFd) {
                    Syscalls.closeQuietly(dmabufFd);
                }
                alsoRelease.run();
            }
        }
    }
}
