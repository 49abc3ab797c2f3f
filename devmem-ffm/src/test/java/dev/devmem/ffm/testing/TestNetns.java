package dev.devmem.ffm.testing;

import dev.devmem.ffm.sys.Syscalls;
import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static dev.devmem.ffm.sys.LinuxConstants.CLONE_NEWNET;
import static dev.devmem.ffm.sys.LinuxConstants.O_CLOEXEC;
import static dev.devmem.ffm.sys.LinuxConstants.O_RDONLY;

/**
 * A throw-away network namespace for tests that talk to the real kernel: {@code lo} up and a veth
 * pair {@code va}/{@code vb}, both ends inside it and up. Code handed to {@link #call} runs on one
 * dedicated platform thread that has entered the namespace with {@code setns(2)}; network
 * namespaces are per thread, so sockets (netlink included) opened there live in the namespace.
 *
 * <p>It never touches the root namespace's interfaces: every {@code ip} command runs with
 * {@code -n NAME}. {@link #close()} deletes the namespace, also when creation failed halfway, and a
 * shutdown hook does it if the JVM ends first. Namespaces left behind by dead test JVMs
 * ({@code devmem-t-<pid>-<n>} whose pid is gone) are removed on the way.
 *
 * <p>Without root or without {@code ip}, {@link #create()} aborts the test through a JUnit
 * assumption and prints why, so the test is reported skipped, never silently passed.
 */
public final class TestNetns implements AutoCloseable {
    public static final String PREFIX = "devmem-t-";
    private static final Path NETNS_DIR = Path.of("/run/netns");
    private static final AtomicInteger COUNTER = new AtomicInteger();

    private final String name;
    private final ExecutorService thread;
    private final Thread shutdownHook;
    private volatile boolean closed;

    private TestNetns(String name) {
        this.name = name;
        this.shutdownHook = new Thread(() -> deleteQuietly(name), "netns-cleanup-" + name);
        Runtime.getRuntime().addShutdownHook(shutdownHook);
        this.thread = Executors.newSingleThreadExecutor(
                r -> Thread.ofPlatform().daemon().name("netns-" + name).unstarted(r));
    }

    /** Creates the namespace with lo, va and vb up; skips the test when it cannot be done here. */
    public static TestNetns create() {
        assumeCapable();
        removeStale();
        String name = PREFIX + ProcessHandle.current().pid() + "-" + COUNTER.incrementAndGet();
        run("ip", "netns", "add", name);
        TestNetns ns = new TestNetns(name);
        try {
            ns.ip("link", "set", "lo", "up");
            ns.ip("link", "add", "va", "type", "veth", "peer", "name", "vb");
            ns.ip("link", "set", "va", "up");
            ns.ip("link", "set", "vb", "up");
            ns.call(() -> null); // enters the namespace now, so a setns failure shows here
            return ns;
        } catch (RuntimeException | Error e) {
            ns.close();
            throw e;
        } catch (Exception e) {
            ns.close();
            throw new IllegalStateException("could not enter " + name + ": " + e.getMessage(), e);
        }
    }

    /** Skips (with the reason on stdout) unless this process is root and {@code ip} exists. */
    public static void assumeCapable() {
        String why = null;
        if (!isUidZero()) {
            why = "not root: network namespaces need CAP_SYS_ADMIN and CAP_NET_ADMIN";
        } else if (!onPath("ip")) {
            why = "the ip command (iproute2) is missing";
        }
        if (why != null) {
            System.out.println("SKIPPED (TestNetns): " + why);
        }
        Assumptions.assumeTrue(why == null, why);
    }

    public String name() {
        return name;
    }

    /**
     * Runs {@code task} on this namespace's thread and returns its result; its exception is
     * rethrown as is (checked ones included).
     */
    public <T> T call(Callable<T> task) throws Exception {
        if (closed) {
            throw new IllegalStateException(name + " is closed");
        }
        Future<T> f = thread.submit(() -> {
            enterOnce();
            return task.call();
        });
        try {
            return f.get();
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof Exception ex) {
                throw ex;
            }
            if (c instanceof Error er) {
                throw er;
            }
            throw e;
        }
    }

    /** {@code ip -n NAME args...}; returns stdout, throws when ip fails. */
    public String ip(String... args) {
        List<String> cmd = new ArrayList<>(List.of("ip", "-n", name));
        cmd.addAll(Arrays.asList(args));
        return run(cmd.toArray(String[]::new));
    }

    /**
     * The command line that runs {@code command} inside the namespace ({@code ip netns exec NAME ...},
     * which also mounts the namespace's own /sys), for a {@link ProcessBuilder}.
     */
    public List<String> execCommand(String... command) {
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", name));
        cmd.addAll(Arrays.asList(command));
        return cmd;
    }

    /** Runs {@code command} inside the namespace; returns stdout, throws when it fails. */
    public String exec(String... command) {
        return run(execCommand(command).toArray(String[]::new));
    }

    /** Deletes the namespace (its veths go with it). Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        thread.shutdownNow();
        try {
            thread.awaitTermination(1, TimeUnit.MINUTES);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        deleteQuietly(name);
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException alreadyShuttingDown) {
            // the hook runs anyway
        }
    }

    @Override
    public String toString() {
        return "TestNetns[" + name + "]";
    }

    private final ThreadLocal<Boolean> entered = ThreadLocal.withInitial(() -> false);

    /** Moves the calling (namespace) thread into the namespace and proves it did, once per thread. */
    private void enterOnce() throws IOException {
        if (entered.get()) {
            return;
        }
        enter(name);
        Object want = Files.getAttribute(NETNS_DIR.resolve(name), "unix:ino");
        String have = Files.readSymbolicLink(Path.of("/proc/thread-self/ns/net")).toString();
        if (!have.equals("net:[" + want + "]")) {
            throw new IOException("after setns the thread is in " + have + ", not " + name + " (inode " + want + ")");
        }
        entered.set(true);
    }

    private static void enter(String name) throws IOException {
        int fd = Syscalls.open(NETNS_DIR.resolve(name).toString(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            throw new IOException("open /run/netns/" + name + " failed: errno " + -fd);
        }
        try {
            int r = Syscalls.setns(fd, CLONE_NEWNET);
            if (r < 0) {
                throw new IOException("setns(" + name + ", CLONE_NEWNET) failed: errno " + -r);
            }
        } finally {
            Syscalls.close(fd);
        }
    }

    private static void deleteQuietly(String name) {
        if (Files.exists(NETNS_DIR.resolve(name))) {
            try {
                run("ip", "netns", "del", name);
            } catch (RuntimeException e) {
                System.err.println("TestNetns: could not delete " + name + ": " + e.getMessage());
            }
        }
    }

    /** Deletes namespaces of earlier test JVMs that died before their close() ran. */
    private static void removeStale() {
        if (!Files.isDirectory(NETNS_DIR)) {
            return;
        }
        try (var entries = Files.list(NETNS_DIR)) {
            for (Path p : entries.toList()) {
                String n = p.getFileName().toString();
                if (!n.startsWith(PREFIX)) {
                    continue;
                }
                String[] parts = n.substring(PREFIX.length()).split("-");
                try {
                    long pid = Long.parseLong(parts[0]);
                    if (ProcessHandle.of(pid).isEmpty()) {
                        deleteQuietly(n);
                    }
                } catch (NumberFormatException ignored) {
                    // not ours
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String run(String... command) {
        try {
            Process p = new ProcessBuilder(command).start();
            CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> readAll(p.getErrorStream()));
            String out = readAll(p.getInputStream());
            int rc = p.waitFor();
            if (rc != 0) {
                throw new IllegalStateException(String.join(" ", command) + " exited " + rc + ": " + err.join().strip());
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    static String readAll(InputStream in) {
        try (in) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static boolean isUidZero() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("Uid:")) {
                    return line.split("\\s+")[2].equals("0"); // effective uid
                }
            }
        } catch (IOException ignored) {
            // fall through
        }
        return false;
    }

    private static boolean onPath(String command) {
        String path = System.getenv().getOrDefault("PATH", "") + ":/usr/sbin:/sbin:/usr/bin:/bin";
        for (String dir : path.split(":")) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, command))) {
                return true;
            }
        }
        return false;
    }
}
