package dev.devmem.ffm.bindd;

import dev.devmem.api.DevmemException;
import dev.devmem.api.Errno;
import dev.devmem.api.SyscallException;
import dev.devmem.ffm.sys.LinuxConstants;
import dev.devmem.ffm.sys.Structs;
import dev.devmem.ffm.sys.Syscalls;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;

/**
 * The binder daemon ({@code devmem bindd}): the one process that holds CAP_NET_ADMIN, and binds
 * dmabufs for unprivileged applications over a Unix socket. See docs/security.md for the rules.
 *
 * <p>Threads: one accepts (parked in {@code poll} on the listening socket and an eventfd that
 * {@link #close()} writes), and one per client connection, which the connection's end releases.
 * Every thread is made by the thread that called {@link #start}, so every binding happens in that
 * thread's network namespace.
 */
public final class BinderDaemon implements AutoCloseable {

    /** What the daemon holds right now and what it has done, as its STATS request reports it. */
    public record Stats(int connections, int bindings, int nicSetups, long binds, long refused, long denied,
                        long malformed) {
        Wire.Stats toWire() {
            return new Wire.Stats(connections, bindings, nicSetups, binds, refused, denied, malformed);
        }
    }

    /** How long a connection's end waits for its client's bindings on other connections before undoing its NIC setups. */
    static final long NIC_UNDO_WAIT_MILLIS = 10_000;

    static final class Counters {
        final AtomicInteger connections = new AtomicInteger();
        final AtomicInteger bindings = new AtomicInteger();
        final AtomicInteger nicSetups = new AtomicInteger();
        final LongAdder binds = new LongAdder();
        final LongAdder refused = new LongAdder();
        final LongAdder denied = new LongAdder();
        final LongAdder malformed = new LongAdder();
    }

    private final BinderConfig config;
    private final Binder binder;
    private final NicConfigurer nic;
    private final Object releases = new Object();
    private final UnixSocket listener;
    private final int wakeFd;
    private final Consumer<String> log;
    private final Counters counters = new Counters();
    private final Set<ClientConnection> live = ConcurrentHashMap.newKeySet();
    private final Set<Thread> threads = ConcurrentHashMap.newKeySet();
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final Thread acceptor;
    private volatile boolean closing;

    private BinderDaemon(BinderConfig config, Binder binder, NicConfigurer nic, UnixSocket listener, int wakeFd,
                         Consumer<String> log) {
        this.config = config;
        this.binder = binder;
        this.nic = nic;
        this.listener = listener;
        this.wakeFd = wakeFd;
        this.log = log;
        this.acceptor = Thread.ofPlatform().daemon().name("devmem-bindd-accept").unstarted(this::acceptLoop);
    }

    /** Starts a daemon that logs to stderr. */
    public static BinderDaemon start(BinderConfig config) throws DevmemException {
        return start(config, line -> System.err.println("devmem bindd: " + line));
    }

    /**
     * Creates the socket (replacing a stale socket file, refusing when another daemon answers on it
     * or the path is not a socket), and starts serving.
     */
    public static BinderDaemon start(BinderConfig config, Consumer<String> log) throws DevmemException {
        Objects.requireNonNull(config, "config");
        return start(config, log, config.emulatedNic().isPresent()
                ? NicConfigurer.emulated(config.emulatedNic().get()) : NicConfigurer.kernel(config.nicStateDir()));
    }

    /** {@link #start(BinderConfig, Consumer)} preparing NICs with {@code nic} (tests give a plan the veth can take). */
    static BinderDaemon start(BinderConfig config, Consumer<String> log, NicConfigurer nic) throws DevmemException {
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(log, "log");
        Objects.requireNonNull(nic, "nic");
        removeStale(config.socket());
        Binder binder = config.emulatedNic().isPresent()
                ? new EmulatedBinder(config.emulatedNic().get()) : new KernelBinder();
        UnixSocket listener = null;
        int wake = -1;
        try {
            listener = UnixSocket.listen(config.socket(), config.socketMode(), config.socketGid(), 64);
            wake = Syscalls.check(Syscalls.eventfd(0, LinuxConstants.EFD_CLOEXEC | LinuxConstants.EFD_NONBLOCK),
                    "eventfd");
            BinderDaemon d = new BinderDaemon(config, binder, nic, listener, wake, log);
            d.acceptor.start();
            log.accept("listening on " + config.socket() + " (mode 0" + Integer.toOctalString(config.socketMode())
                    + "), binding with " + binder.describe() + ", NIC setup " + (config.emulatedNic().isPresent()
                    ? "on the emulated NIC (nothing to change)" : "recorded under " + config.nicStateDir()) + "; allowed: root" + (config.allowUids().isEmpty()
                    ? "" : ", uids " + config.allowUids()) + (config.allowGids().isEmpty() ? "" : ", gids "
                    + config.allowGids()));
            return d;
        } catch (DevmemException | RuntimeException e) {
            if (listener != null) {
                listener.close();
                deleteQuietly(config.socket());
            }
            Syscalls.closeQuietly(wake);
            if (binder instanceof EmulatedBinder eb) {
                eb.close();
            }
            throw e;
        }
    }

    private static void removeStale(Path path) throws SyscallException {
        if (!Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        if (!isSocket(path)) {
            throw new SyscallException("bind(" + path + ")", Errno.EEXIST,
                    "the path exists and is not a socket; the daemon does not delete other files");
        }
        try (UnixSocket probe = UnixSocket.connect(path)) {
            throw new SyscallException("bind(" + path + ")", Errno.EADDRINUSE,
                    "another daemon answers on this socket");
        } catch (SyscallException e) {
            if (e.errno().equals(Errno.EADDRINUSE)) {
                throw e;
            }
            deleteQuietly(path); // ECONNREFUSED: a socket file nobody listens on any more
        }
    }

    private static boolean isSocket(Path path) {
        try {
            int mode = (Integer) Files.getAttribute(path, "unix:mode", LinkOption.NOFOLLOW_LINKS);
            return (mode & 0170000) == 0140000; // S_IFSOCK
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return false;
        }
    }

    public Path socket() {
        return config.socket();
    }

    public Stats stats() {
        return new Stats(counters.connections.get(), counters.bindings.get(), counters.nicSetups.get(),
                counters.binds.sum(),
                counters.refused.sum(), counters.denied.sum(), counters.malformed.sum());
    }

    /**
     * Asks the daemon listening on {@code socket} for its {@link Stats} (its STATS request; any peer
     * it serves may ask), e.g. to check from outside that no binding outlived its client.
     */
    public static Stats statsOf(Path socket) throws DevmemException {
        Wire.Stats s = BinderLease.stats(socket);
        return new Stats(s.connections(), s.bindings(), s.nicSetups(), s.binds(), s.refused(), s.denied(),
                s.malformed());
    }

    /** Waits until {@link #close()} finished. */
    public void awaitClosed() throws InterruptedException {
        stopped.await();
    }

    BinderConfig config() {
        return config;
    }

    Binder binder() {
        return binder;
    }

    NicConfigurer nic() {
        return nic;
    }

    /** Called by a connection after it released a binding: wakes NIC undos waiting for it. */
    void bindingReleased() {
        synchronized (releases) {
            releases.notifyAll();
        }
    }

    /**
     * Waits (bounded) until the process {@code pid} holds no binding on a connection other than
     * {@code self}: a client that dies drops all its connections at once, and a NIC setup must be
     * undone after the bindings that rely on it (the kernel refuses to switch header split off under
     * a bound queue). While the daemon stops, every connection ends at once, so the wait is for the
     * bindings of every process: one application may bind queues another one set up. True when none
     * is left.
     */
    boolean awaitOtherBindingsReleased(int pid, ClientConnection self) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(NIC_UNDO_WAIT_MILLIS);
        boolean told = false;
        synchronized (releases) {
            while (true) {
                boolean everyProcess = closing;
                int held = 0;
                for (ClientConnection c : live) {
                    if (c != self && (everyProcess || c.pid() == pid) && c.bindingsHeld() > 0) {
                        held += c.bindingsHeld();
                    }
                }
                long left = deadline - System.nanoTime();
                if (held == 0) {
                    return true;
                }
                if (!told) {
                    log("NIC setups of pid " + pid + (everyProcess
                            ? " wait for " + held + " binding(s) of any client to be released: the daemon is stopping"
                            : " wait for its " + held + " binding(s) on other connections to be released"));
                    told = true;
                }
                if (left <= 0) {
                    return false;
                }
                try {
                    releases.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
        }
    }

    Counters counters() {
        return counters;
    }

    void log(String line) {
        try {
            log.accept(line);
        } catch (RuntimeException ignored) {
            // a failing log must not take a client's bindings down with it
        }
    }

    private void acceptLoop() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment fds = a.allocate(Structs.POLLFD, 2);
            while (!closing) {
                fds.set(ValueLayout.JAVA_INT, Structs.POLLFD_FD, listener.fd());
                fds.set(ValueLayout.JAVA_SHORT, Structs.POLLFD_EVENTS, LinuxConstants.POLLIN);
                fds.set(ValueLayout.JAVA_INT, Structs.POLLFD.byteSize() + Structs.POLLFD_FD, wakeFd);
                fds.set(ValueLayout.JAVA_SHORT, Structs.POLLFD.byteSize() + Structs.POLLFD_EVENTS, LinuxConstants.POLLIN);
                int r = Syscalls.poll(fds, 2, -1);
                if (r < 0 && r != -Errno.EINTR.number()) {
                    log("poll failed: " + Errno.of(-r) + "; no longer accepting");
                    return;
                }
                if (closing) {
                    return;
                }
                if (r > 0) {
                    acceptOne();
                }
            }
        }
    }

    private void acceptOne() {
        UnixSocket s;
        try {
            s = listener.accept();
        } catch (SyscallException e) {
            log("accept failed: " + e.getMessage()); // EMFILE and the like: the next poll retries
            return;
        }
        if (s == null) {
            return;
        }
        if (counters.connections.get() >= config.maxConnections()) {
            s.writeFrame(ErrorCodec.encode(new SyscallException("devmem bindd", Errno.EBUSY,
                    "the daemon serves at most " + config.maxConnections() + " connections at once")), -1);
            s.close();
            return;
        }
        counters.connections.incrementAndGet();
        ClientConnection c = new ClientConnection(this, s);
        live.add(c);
        Thread t = Thread.ofPlatform().daemon().name("devmem-bindd-client").unstarted(c);
        threads.add(t);
        t.start();
    }

    void connectionEnded(ClientConnection c) {
        live.remove(c);
        threads.remove(Thread.currentThread());
        counters.connections.decrementAndGet();
    }

    /**
     * Stops accepting, ends every connection (which releases its bindings: the kernel unbinds),
     * removes the socket file. Idempotent.
     */
    @Override
    public void close() {
        synchronized (this) {
            if (closing) {
                return;
            }
            closing = true;
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment one = a.allocate(ValueLayout.JAVA_LONG);
            one.set(ValueLayout.JAVA_LONG, 0, 1);
            Syscalls.write(wakeFd, one, 8);
        }
        join(List.of(acceptor));
        for (ClientConnection c : live) {
            c.shutdown();
        }
        join(List.copyOf(threads));
        listener.close();
        Syscalls.closeQuietly(wakeFd);
        deleteQuietly(config.socket());
        if (binder instanceof EmulatedBinder eb) {
            eb.close();
        }
        log("stopped");
        stopped.countDown();
    }

    private static void join(List<Thread> ts) {
        for (Thread t : ts) {
            try {
                t.join(TimeUnit.SECONDS.toMillis(30));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // nothing else to do; the next start replaces a stale socket file
        }
    }

    @Override
    public String toString() {
        return "BinderDaemon[" + config.socket() + ", " + stats() + "]";
    }
}
