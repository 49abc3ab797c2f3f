package dev.devmem.ffm.bindd;

import dev.devmem.api.DevmemException;
import dev.devmem.api.Errno;
import dev.devmem.api.SyscallException;
import dev.devmem.ffm.sys.Syscalls;

import java.util.ArrayDeque;
import java.util.Deque;

/**
 * One client of the daemon, served on its own thread: authorised once by its credentials, then
 * request by request. The connection is the lease: every binding and NIC setup made on it is
 * released when it ends, whichever way (the client closed it, died, sent garbage, or the daemon is
 * stopping): the bindings first, newest first, then (once the same client process holds no binding
 * on another connection either) the NIC setups, newest first, since a setup is what its bindings
 * rely on. A malformed request is answered with a protocol error and ends the connection, since a
 * stream out of step cannot be trusted again; a refused bind or NIC setup is answered and the
 * client may try again.
 */
final class ClientConnection implements Runnable {
    /** Bindings one connection may hold; the library's client holds one per connection. */
    static final int MAX_BINDINGS = 16;
    /** NIC setups one connection may hold; the library's client holds one per connection. */
    static final int MAX_NIC_SETUPS = 4;
    /** How long a refused peer may take to send the request it is refused on. */
    private static final long DENIED_READ_MILLIS = 2000;

    private record Lease(Binder.Held held, int passedFd) {
    }

    private final BinderDaemon daemon;
    private final UnixSocket socket;
    private record NicLease(int id, NicConfigurer.Applied applied) {
    }

    private final Deque<Lease> leases = new ArrayDeque<>(); // only this connection's thread touches it
    private final Deque<NicLease> nicLeases = new ArrayDeque<>(); // likewise
    private volatile int bindingsHeld;
    private volatile int pid = -1;
    private int nextNicId = 1;

    ClientConnection(BinderDaemon daemon, UnixSocket socket) {
        this.daemon = daemon;
        this.socket = socket;
    }

    /** The peer's pid once known, else -1. */
    int pid() {
        return pid;
    }

    /** Bindings this connection holds now. */
    int bindingsHeld() {
        return bindingsHeld;
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
            pid = peer.pid();
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
            if (type == Wire.NIC_SETUP || type == Wire.NIC_UNDO) {
                if (fds.length != 0) {
                    throw new WireException("a NIC setup request carries no descriptor, this one carried " + fds.length);
                }
                return type == Wire.NIC_SETUP ? nicSetup(peer, NicWire.nicSetupRequest(f.body()))
                        : nicUndo(peer, NicWire.nicUndoRequest(f.body()));
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
            UnixSocket.closeAll(fds); // before the answer: a client that reads it finds its copies closed
            fds = new int[0];
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
        bindingsHeld = leases.size();
        daemon.counters().bindings.incrementAndGet();
        daemon.counters().binds.increment();
        daemon.log((r.tx() ? "bind-tx" : "bind-rx") + " " + r.ifname() + (r.tx() ? "" : " rx " + r.queues())
                + " for " + peer + ": binding " + Integer.toUnsignedString(held.id()));
        Wire.Bound bound = new Wire.Bound(held.id(), held.ifindex(), held.ifname(), held.size(), held.allocatedFd() >= 0);
        return socket.writeFrame(Wire.bound(bound), held.allocatedFd()) == 0;
    }

    private boolean nicSetup(PeerCred peer, NicWire.NicSetupRequest r) {
        String what = "NIC setup of " + r.ifname() + " rx " + r.queues() + " flow to " + r.address().getHostAddress()
                + ":" + r.port() + " for " + peer;
        if (nicLeases.size() >= MAX_NIC_SETUPS) {
            daemon.counters().refused.increment();
            return socket.writeFrame(ErrorCodec.encode(new SyscallException("devmem bindd", Errno.of(24),
                    "one connection holds at most " + MAX_NIC_SETUPS + " NIC setups")), -1) == 0;
        }
        NicConfigurer.Applied applied;
        try {
            applied = daemon.nic().apply(r);
        } catch (DevmemException e) {
            daemon.counters().refused.increment();
            daemon.log(what + " refused: " + e.getMessage());
            return socket.writeFrame(ErrorCodec.encode(e), -1) == 0;
        } catch (RuntimeException e) {
            daemon.counters().refused.increment();
            daemon.log(what + " failed: " + e);
            return socket.writeFrame(ErrorCodec.encode(new DevmemException("devmem bindd failed: " + e)), -1) == 0;
        }
        int id = nextNicId++;
        nicLeases.push(new NicLease(id, applied));
        daemon.counters().nicSetups.incrementAndGet();
        daemon.log(what + ": NIC setup " + id + " changed " + (applied.changes().isEmpty() ? "nothing"
                : String.join("; ", applied.changes())));
        return socket.writeFrame(NicWire.nicSet(new NicWire.NicSet(id, applied.ifname(), applied.changes())), -1) == 0;
    }

    private boolean nicUndo(PeerCred peer, int id) {
        NicLease lease = null;
        for (NicLease l : nicLeases) {
            if (l.id() == id) {
                lease = l;
            }
        }
        if (lease == null) {
            daemon.counters().refused.increment();
            return socket.writeFrame(ErrorCodec.encode(new SyscallException("devmem bindd", Errno.ENOENT,
                    "this connection holds no NIC setup " + Integer.toUnsignedString(id))), -1) == 0;
        }
        nicLeases.remove(lease);
        try {
            undo(peer, lease, "the client asked");
        } catch (DevmemException e) {
            return socket.writeFrame(ErrorCodec.encode(e), -1) == 0;
        }
        return socket.writeFrame(NicWire.nicUndone(id), -1) == 0;
    }

    private void undo(PeerCred peer, NicLease l, String why) throws DevmemException {
        try {
            l.applied().undo();
            daemon.log("NIC setup " + l.id() + " of " + l.applied().ifname() + " for " + peer + " undone: " + why);
        } catch (DevmemException | RuntimeException e) {
            daemon.log("NIC setup " + l.id() + " of " + l.applied().ifname() + " for " + peer
                    + ": undoing it failed: " + e.getMessage());
            if (e instanceof DevmemException d) {
                throw d;
            }
            throw new DevmemException("devmem bindd: undoing NIC setup " + l.id() + " failed: " + e, e);
        } finally {
            daemon.counters().nicSetups.decrementAndGet();
        }
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
                bindingsHeld = leases.size();
                daemon.counters().bindings.decrementAndGet();
                daemon.log("binding " + Integer.toUnsignedString(l.held().id()) + " of " + peer
                        + " released: its connection ended");
                daemon.bindingReleased();
            }
        }
        if (nicLeases.isEmpty()) {
            return;
        }
        if (peer != null && !daemon.awaitOtherBindingsReleased(peer.pid(), this)) {
            daemon.log("undoing the NIC setups of " + peer + " while it still holds bindings on other connections "
                    + "(waited " + BinderDaemon.NIC_UNDO_WAIT_MILLIS + " ms)");
        }
        while (!nicLeases.isEmpty()) {
            try {
                undo(peer, nicLeases.pop(), "its connection ended");
            } catch (DevmemException e) {
                // logged; what could not be restored stays in the state file for nic-cleanup
            }
        }
    }
}
