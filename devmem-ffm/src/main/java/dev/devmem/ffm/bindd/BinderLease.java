package dev.devmem.ffm.bindd;

import dev.devmem.api.DevmemException;
import dev.devmem.api.DevmemProtocolException;
import dev.devmem.api.Errno;
import dev.devmem.api.SyscallException;
import dev.devmem.ffm.sys.LinuxConstants;
import dev.devmem.ffm.sys.Structs;
import dev.devmem.ffm.sys.Syscalls;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * The client's end of one connection to the daemon: one request and its answer, then, for a bind,
 * the lease itself. The binding lives exactly as long as this connection, so {@link #close()} is
 * the client's unbind, and the daemon closing it (it stopped or died) is the binding's end, which a
 * watcher thread reports.
 */
final class BinderLease implements AutoCloseable {
    /** How long {@link #close()} waits for the daemon to confirm, by closing its end, that it unbound. */
    private static final long UNBIND_WAIT_MILLIS = 10_000;

    private final Path path;
    private final UnixSocket socket;
    private volatile boolean closing;
    private Thread watcher;

    private BinderLease(Path path, UnixSocket socket) {
        this.path = path;
        this.socket = socket;
    }

    static BinderLease connect(Path path) throws SyscallException {
        try {
            return new BinderLease(path, UnixSocket.connect(path));
        } catch (SyscallException e) {
            throw new SyscallException(e.operation(), e.errno(), "is devmem bindd running on " + path
                    + ", and may this user open the socket? (" + e.errno().name() + ")");
        }
    }

    /** Sends one request (with {@code fd} attached, or none) and returns the answer's body and descriptors. */
    UnixSocket.Frame call(byte[] frame, int fd) throws DevmemException {
        int w = socket.writeFrame(frame, fd);
        // A daemon that refuses at once may have closed before reading: its answer is still to be read.
        UnixSocket.Frame reply;
        try {
            reply = socket.readFrame();
        } catch (WireException e) {
            throw new DevmemProtocolException("devmem bindd at " + path + " answered malformed: " + e.getMessage());
        }
        if (reply == null) {
            throw new SyscallException("devmem bindd (" + path + ")", w < 0 ? Errno.of(-w) : Errno.ECONNRESET,
                    "the daemon closed the connection without an answer");
        }
        return reply;
    }

    /** Asks the daemon at {@code path} what it holds (any allowed client may). */
    static Wire.Stats stats(Path path) throws DevmemException {
        try (BinderLease lease = connect(path)) {
            UnixSocket.Frame reply = lease.call(Wire.stats(), -1);
            UnixSocket.closeAll(reply.fds());
            try {
                if (Wire.type(reply.body()) == Wire.ERROR) {
                    throw ErrorCodec.decode(reply.body());
                }
                return Wire.statsReply(reply.body());
            } catch (WireException e) {
                throw new DevmemProtocolException("devmem bindd at " + path + " answered malformed: " + e.getMessage());
            }
        }
    }

    /** The answer as a BOUND reply, or the daemon's error, thrown as the type it had there. */
    static Wire.Bound bound(UnixSocket.Frame reply, Path path) throws DevmemException {
        try {
            int type = Wire.type(reply.body());
            if (type == Wire.ERROR) {
                UnixSocket.closeAll(reply.fds());
                throw ErrorCodec.decode(reply.body());
            }
            Wire.Bound b = Wire.bound(reply.body());
            if (reply.fds().length != (b.fdAttached() ? 1 : 0)) {
                throw new WireException("BOUND announced " + (b.fdAttached() ? "one descriptor" : "none")
                        + " and carried " + reply.fds().length);
            }
            return b;
        } catch (WireException e) {
            UnixSocket.closeAll(reply.fds());
            throw new DevmemProtocolException("devmem bindd at " + path + " answered malformed: " + e.getMessage());
        }
    }

    /** Runs {@code onLost} on a watcher thread if the daemon ends the lease before {@link #close()}. */
    synchronized void watch(String name, Runnable onLost) {
        watcher = Thread.ofPlatform().daemon().name("devmem-bindd-lease-" + name).start(() -> {
            awaitReadableOrHangup();
            if (!closing) {
                onLost.run();
            }
        });
    }

    private void awaitReadableOrHangup() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment pfd = a.allocate(Structs.POLLFD);
            pfd.set(ValueLayout.JAVA_INT, Structs.POLLFD_FD, socket.fd());
            pfd.set(ValueLayout.JAVA_SHORT, Structs.POLLFD_EVENTS, LinuxConstants.POLLIN);
            int r;
            do {
                r = Syscalls.poll(pfd, 1, -1);
            } while (r == -Errno.EINTR.number() || r == 0);
        }
    }

    /**
     * Ends the lease: the daemon reads the end of the stream, releases the binding, and closes its
     * end, which this waits for (bounded), so that the binding is gone when this returns.
     */
    @Override
    public void close() {
        Thread w;
        synchronized (this) {
            if (closing) {
                return;
            }
            closing = true;
            w = watcher;
        }
        socket.shutdownOutput();
        if (w != null) {
            try {
                w.join(UNBIND_WAIT_MILLIS);
                if (w.isAlive()) {
                    socket.shutdown(); // the daemon hangs: stop waiting; it still unbinds when it reads the end
                    w.join(TimeUnit.SECONDS.toMillis(1));
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        socket.close();
    }

    Path path() {
        return path;
    }
}
