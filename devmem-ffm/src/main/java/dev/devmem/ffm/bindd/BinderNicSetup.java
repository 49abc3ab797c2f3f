package dev.devmem.ffm.bindd;

import dev.devmem.api.DevmemException;
import dev.devmem.api.DevmemProtocolException;
import dev.devmem.api.spi.KernelNicSetup;

import java.net.InetAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * NIC setup through {@code devmem bindd}: the daemon applies the devmem setup (header split,
 * hds-thresh 0, ntuple, RSS off the devmem queues, a flow rule) with its CAP_NET_ADMIN, through the
 * same {@code DevmemNicSetup} an application would call itself, and this process needs no
 * capability. Each {@link #apply} is one connection to the daemon, and the setup lives at most as
 * long as it: {@link Applied#close()} asks the daemon to restore it and returns the restore's
 * outcome; a process that dies has its setup restored by the daemon when the connection ends
 * (after its bindings are released). Refusals arrive as the exceptions applying in-process throws:
 * a {@code NicSetupException} with the failed step and the kernel's extack text, ENODEV for an
 * interface the daemon's network namespace does not have.
 */
public final class BinderNicSetup implements KernelNicSetup {
    private final Path socket;

    private BinderNicSetup(Path socket) {
        this.socket = socket;
    }

    /** NIC setup through the daemon listening on {@code socket}. */
    public static BinderNicSetup at(Path socket) {
        return new BinderNicSetup(Objects.requireNonNull(socket, "socket"));
    }

    public Path socket() {
        return socket;
    }

    /** A setup the daemon holds for this process: what it changed, and its restore. */
    public static final class Held implements Applied {
        private final BinderLease lease;
        private final NicWire.NicSet set;
        private boolean closed;

        private Held(BinderLease lease, NicWire.NicSet set) {
            this.lease = lease;
            this.set = set;
        }

        public String interfaceName() {
            return set.ifname();
        }

        /** What the daemon changed, in order, e.g. {@code rx-ntuple-filter off -> on}; empty when everything was right. */
        public List<String> changes() {
            return set.changes();
        }

        /** Asks the daemon to restore what it changed and waits for its answer; then ends the connection. */
        @Override
        public synchronized void close() throws DevmemException {
            if (closed) {
                return;
            }
            closed = true;
            try {
                UnixSocket.Frame reply = lease.call(NicWire.nicUndo(set.id()), -1);
                UnixSocket.closeAll(reply.fds());
                try {
                    if (Wire.type(reply.body()) == Wire.ERROR) {
                        throw ErrorCodec.decode(reply.body());
                    }
                    NicWire.nicUndone(reply.body());
                } catch (WireException e) {
                    throw new DevmemProtocolException("devmem bindd at " + lease.path() + " answered malformed: "
                            + e.getMessage());
                }
            } finally {
                lease.close();
            }
        }

        @Override
        public String toString() {
            return "BinderNicSetup.Held[" + set.ifname() + " via devmem bindd " + lease.path() + ", changed "
                    + set.changes() + (closed ? ", restored" : "") + "]";
        }
    }

    @Override
    public Held apply(String interfaceName, List<Integer> rxQueues, InetAddress localAddress, int localPort)
            throws DevmemException {
        Objects.requireNonNull(interfaceName, "interfaceName");
        Objects.requireNonNull(localAddress, "localAddress");
        List<Integer> queues = List.copyOf(rxQueues);
        if (queues.isEmpty() || queues.size() > Wire.MAX_QUEUES) {
            throw new IllegalArgumentException("1.." + Wire.MAX_QUEUES + " rx queues, not " + queues.size());
        }
        if (localPort < 1 || localPort > 65535) {
            throw new IllegalArgumentException("the flow rule needs the listen port, not " + localPort);
        }
        byte[] frame = NicWire.nicSetup(interfaceName, queues, localAddress, localPort);
        BinderLease lease = BinderLease.connect(socket);
        try {
            UnixSocket.Frame reply = lease.call(frame, -1);
            UnixSocket.closeAll(reply.fds());
            try {
                if (Wire.type(reply.body()) == Wire.ERROR) {
                    throw ErrorCodec.decode(reply.body());
                }
                return new Held(lease, NicWire.nicSet(reply.body()));
            } catch (WireException e) {
                throw new DevmemProtocolException("devmem bindd at " + socket + " answered malformed: " + e.getMessage());
            }
        } catch (DevmemException | RuntimeException | Error e) {
            lease.close();
            throw e;
        }
    }

    @Override
    public String toString() {
        return "BinderNicSetup[" + socket + "]";
    }
}
