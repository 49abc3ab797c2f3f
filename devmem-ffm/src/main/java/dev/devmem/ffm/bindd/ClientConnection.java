package dev.devmem.ffm.bindd;

import dev.devmem.api.DevmemException;
import dev.devmem.api.Errno;
import dev.devmem.api.SyscallException;
import dev.devmem.ffm.sys.Syscalls;

import java.util.ArrayDeque;
import java.util.Deque;

/**
 * One client of the daemon, served on its own thread: authorised once by its credentials, then
 * request by request. The connection is the lease: every binding made on it is released, newest
 * first, when it ends, whichever way (the client closed it, died, sent garbage, or the daemon is
 * stopping). A malformed request is answered with a protocol error and ends the connection, since
 * a stream out of step cannot be trusted again; a refused bind is answered and the client may try
 * again.
 */
final class ClientConnection implements Runnable {
    /** Bindings one connection may hold; the library's client holds one per connection. */
    static final int MAX_BINDINGS = 16;
    /** How long a refused peer may take to send the request it is refused on. */
    private static final long DENIED_READ_MILLIS = 2000;

    private record Lease(Binder.Held held, int passedFd) {
    }

    private final BinderDaemon daemon;
    private final UnixSocket socket;
    private final Deque<Lease> leases = new ArrayDeque<>(); // only this connection's thread touches it

    ClientConnection(BinderDaemon daemon, UnixSocket socket) {
        this.daemon = daemon;
        this.socket = socket;
    }

    /** Wakes the connection's thread from its read; it releases everything and ends. */
    void shutdown() {
        socket.shutdown();
    }

    @Override
    public void run() {
        PeerCred peer = null;
        try {
            peer = socket.peerCred();
            if (!daemon.config().allows(peer)) {
                refuse(peer);
                return;
            }
            while (serveOne(peer)) {
                // next request
            }
        } catch (SyscallException | RuntimeException e) {
            daemon.log("client " + (peer == null ? "?" : peer) + ": " + e.getMessage());
        } finally {
            releaseAll(peer);
            socket.close();
            daemon.connectionEnded(this);
        }
    }

    private void refuse(PeerCred peer) throws SyscallException {
        daemon.counters().denied.increment();
        daemon.log("refused " + peer + ": not root, not in the allowed uids or groups");
        socket.receiveTimeout(DENIED_READ_MILLIS);
        try {
            UnixSocket.Frame f = socket.readFrame(); // answer the request itself, so the peer reads the reason
            if (f != null) {
                UnixSocket.closeAll(f.fds());
            }
        } catch (WireException | SyscallException e) {
            // the reason is sent all the same
        }
        socket.writeFrame(ErrorCodec.encode(new SyscallException("devmem bindd (" + daemon.config().socket() + ")",
                Errno.EACCES, "the daemon does not serve uid " + Integer.toUnsignedString(peer.uid()) + " (gid "
                + Integer.toUnsignedString(peer.gid()) + "): not root, not in --allow-uid, and no group in --allow-gid")),
                -1);
    }

    /** Reads and answers one request; false when the connection is over. */
    private boolean serveOne(PeerCred peer) throws SyscallException {
        UnixSocket.Frame f;
        try {
            f = socket.readFrame();
        } catch (WireException e) {
            return malformed(peer, e.getMessage());
        }
        if (f == null) {
            return false;
        }
        int[] fds = f.fds();
        try {
            int type = Wire.type(f.body());
            if (type == Wire.STATS) {
                Wire.expectEmpty(f.body(), Wire.STATS);
                if (fds.length != 0) {
                    throw new WireException("a STATS request carries no descriptor");
                }
                return socket.writeFrame(Wire.stats(daemon.stats().toWire()), -1) == 0;
            }
            if (type != Wire.BIND_RX && type != Wire.BIND_TX) {
                throw new WireException("unknown request type " + type);
            }
            Wire.BindRequest r = Wire.bindRequest(f.body());
            if (fds.length != (r.passesFd() ? 1 : 0)) {
                throw new WireException("a bind with dmabuf kind " + r.dmabufKind() + " carries "
                        + (r.passesFd() ? "exactly one descriptor" : "no descriptor") + ", this one carried "
                        + fds.length);
            }
            int passed = r.passesFd() ? fds[0] : -1;
            fds = new int[0]; // the passed descriptor is the bind's now
            return bind(peer, r, passed);
        } catch (WireException e) {
            return malformed(peer, e.getMessage());
        } finally {
            UnixSocket.closeAll(fds);
        }
    }

    private boolean bind(PeerCred peer, Wire.BindRequest r, int passedFd) {
        if (leases.size() >= MAX_BINDINGS) {
            Syscalls.closeQuietly(passedFd);
            daemon.counters().refused.increment();
            return socket.writeFrame(ErrorCodec.encode(new SyscallException("devmem bindd", Errno.of(24),
                    "one connection holds at most " + MAX_BINDINGS + " bindings")), -1) == 0;
        }
        Binder.Held held;
        try {
            held = daemon.binder().bind(r, passedFd);
        } catch (DevmemException e) {
            Syscalls.closeQuietly(passedFd);
            daemon.counters().refused.increment();
            daemon.log((r.tx() ? "bind-tx" : "bind-rx") + " " + r.ifname() + " for " + peer + " refused: "
                    + e.getMessage());
            return socket.writeFrame(ErrorCodec.encode(e), -1) == 0;
        } catch (RuntimeException e) {
            Syscalls.closeQuietly(passedFd);
            daemon.counters().refused.increment();
            daemon.log("bind for " + peer + " failed: " + e);
            return socket.writeFrame(ErrorCodec.encode(new DevmemException("devmem bindd failed: " + e)), -1) == 0;
        }
        leases.push(new Lease(held, passedFd));
        daemon.counters().bindings.incrementAndGet();
        daemon.counters().binds.increment();
        daemon.log((r.tx() ? "bind-tx" : "bind-rx") + " " + r.ifname() + (r.tx() ? "" : " rx " + r.queues())
                + " for " + peer + ": binding " + Integer.toUnsignedString(held.id()));
        Wire.Bound bound = new Wire.Bound(held.id(), held.ifindex(), held.ifname(), held.size(), held.allocatedFd() >= 0);
        return socket.writeFrame(Wire.bound(bound), held.allocatedFd()) == 0;
    }

    private boolean malformed(PeerCred peer, String why) {
        daemon.counters().malformed.increment();
        daemon.log("malformed request from " + peer + ": " + why + "; connection closed");
        socket.writeFrame(ErrorCodec.protocol("devmem bindd: malformed request: " + why), -1);
        return false;
    }

    private void releaseAll(PeerCred peer) {
        while (!leases.isEmpty()) {
            Lease l = leases.pop();
            try {
                l.held().close();
            } catch (RuntimeException e) {
                daemon.log("unbinding " + Integer.toUnsignedString(l.held().id()) + " failed: " + e);
            } finally {
                Syscalls.closeQuietly(l.passedFd());
                daemon.counters().bindings.decrementAndGet();
                daemon.log("binding " + Integer.toUnsignedString(l.held().id()) + " of " + peer
                        + " released: its connection ended");
            }
        }
    }
}
