package dev.devmem.ffm.bindd;

import dev.devmem.api.DmabufSource;
import dev.devmem.api.NetlinkException;
import dev.devmem.api.RxBindingSpec;
import dev.devmem.ffm.linux.LinuxBackend;
import dev.devmem.ffm.sys.LinuxConstants;
import dev.devmem.ffm.sys.Syscalls;
import dev.devmem.ffm.testing.TestNetns;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The privilege split against the real kernel: a daemon started in a test namespace binds for a
 * client that runs as nobody without any capability, and the client receives the kernel's own
 * answers (veth has no queue API: EOPNOTSUPP naming the ifindex; no such interface: ENODEV) as the
 * same typed exceptions an in-process bind throws. The refusals leave no netlink socket behind.
 */
class BinderKernelTest {
    private static TestNetns ns;
    private static Path dir;
    private static BinderDaemon daemon;
    private static final List<String> log = Collections.synchronizedList(new ArrayList<>());

    @BeforeAll
    static void start() throws Exception {
        ns = TestNetns.create();
        Unprivileged.assumeSetpriv();
        dir = Unprivileged.sharedDirectory();
        // mode 0660 with group nogroup: nobody may open the socket; the allow-list admits uid 65534
        BinderConfig config = BinderConfig.of(dir.resolve("bindd.sock")).withSocketGid(Unprivileged.NOBODY)
                .withAllowUids(Set.of(Unprivileged.NOBODY));
        daemon = ns.call(() -> BinderDaemon.start(config, log::add)); // its threads bind in the namespace
    }

    @AfterAll
    static void stop() throws IOException {
        if (daemon != null) {
            daemon.close();
        }
        if (ns != null) {
            ns.close();
        }
        if (dir != null) {
            Files.deleteIfExists(dir);
        }
    }

    private static Map<String, String> probe(String op, String ifname) throws Exception {
        Map<String, String> r = Unprivileged.run(daemon.socket().toString(), op, ifname);
        assertThat(r.get("uid")).isEqualTo(Integer.toString(Unprivileged.NOBODY));
        assertThat(Long.parseUnsignedLong(r.get("capeff"), 16)).as("no capability at all").isZero();
        return r;
    }

    /** The same bind done in-process as root in the namespace: what the daemon's answer must equal. */
    private static NetlinkException inProcess(String ifname) throws Exception {
        return ns.call(() -> {
            int fd = Syscalls.check(Syscalls.memfdCreate("direct", LinuxConstants.MFD_CLOEXEC), "memfd_create");
            try {
                new LinuxBackend().bindRx(new RxBindingSpec(ifname, List.of(0), DmabufSource.ofFd(fd, 4096))).close();
                throw new AssertionError("the kernel bound " + ifname);
            } catch (NetlinkException e) {
                return e;
            } finally {
                Syscalls.close(fd);
            }
        });
    }

    @Test
    void anUnprivilegedClientGetsTheKernelsEopnotsuppForVethThroughTheDaemon() throws Exception {
        long netlinkBefore = netlinkSocketsHeld();
        Map<String, String> r = probe("rx", "va");
        NetlinkException direct = inProcess("va");
        assertThat(r).containsEntry("result", "refused").containsEntry("type", "NetlinkException")
                .containsEntry("errno", "EOPNOTSUPP")
                .containsEntry("operation", direct.operation())
                .containsEntry("offending", direct.offendingAttribute().orElse(""))
                .containsEntry("extack", direct.extackMessage().orElse(""))
                .containsEntry("explanation", String.valueOf(direct.explanation()));
        assertThat(r.get("offending")).as("the kernel pointed at the ifindex").contains("ifindex");
        assertThat(direct.errno().name()).isEqualTo("EOPNOTSUPP");
        assertThat(netlinkSocketsHeld()).as("the refused bind's netlink socket is closed").isEqualTo(netlinkBefore);
        assertThat(daemon.stats().bindings()).isZero();
    }

    @Test
    void aMissingInterfaceIsEnodevFromTheDaemonsNamespace() throws Exception {
        Map<String, String> r = probe("rx", "nosuch0");
        assertThat(r).containsEntry("result", "refused").containsEntry("type", "NetlinkException")
                .containsEntry("errno", "ENODEV");
        assertThat(r.get("explanation")).contains("nosuch0");
    }

    @Test
    void bindTxOnVethIsTheDriversRefusalWithItsExtackText() throws Exception {
        Map<String, String> r = probe("tx", "va");
        assertThat(r).containsEntry("result", "refused").containsEntry("type", "NetlinkException")
                .containsEntry("errno", "EOPNOTSUPP").containsEntry("extack", "Driver does not support netmem TX");
    }

    @Test
    void aUidNotOnTheAllowListIsRefusedWithAClearError() throws Exception {
        Path other = dir.resolve("strict.sock");
        // mode 0666: the socket lets anyone connect, so the refusal comes from SO_PEERCRED, not the file mode
        try (BinderDaemon strict = ns.call(() -> BinderDaemon.start(BinderConfig.of(other).withSocketMode(0666),
                log::add))) {
            Map<String, String> r = Unprivileged.run(other.toString(), "rx", "va");
            assertThat(r).containsEntry("result", "refused").containsEntry("type", "SyscallException")
                    .containsEntry("errno", "EACCES");
            assertThat(r.get("explanation")).contains("does not serve uid 65534").contains("--allow-uid");
            assertThat(strict.stats().denied()).isEqualTo(1);
            assertThat(strict.stats().binds() + strict.stats().refused()).as("nothing was attempted").isZero();
        }
    }

    @Test
    void theSocketModeKeepsOutUsersWithoutAccessBeforeTheDaemonIsAsked() throws Exception {
        Path other = dir.resolve("private.sock");
        try (BinderDaemon root = ns.call(() -> BinderDaemon.start(BinderConfig.of(other)
                .withAllowUids(Set.of(Unprivileged.NOBODY)), log::add))) {
            assertThat(Files.getPosixFilePermissions(other))
                    .isEqualTo(java.nio.file.attribute.PosixFilePermissions.fromString("rw-rw----"));
            Map<String, String> r = Unprivileged.run(other.toString(), "rx", "va");
            assertThat(r).containsEntry("result", "refused").containsEntry("errno", "EACCES");
            assertThat(r.get("operation")).startsWith("connect(");
            assertThat(root.stats().denied() + root.stats().binds() + root.stats().refused()).isZero();
        }
    }

    @Test
    void aClientKilledInTheMiddleOfItsRequestsLeavesNoNetlinkSocketOrConnection() throws Exception {
        long netlinkBefore = netlinkSocketsHeld();
        long unixBefore = unixSocketsHeld();
        long bindsBefore = daemon.stats().refused();
        Process client = Unprivileged.start(daemon.socket().toString(), "loop", "va");
        try {
            java.io.BufferedReader in = new java.io.BufferedReader(new java.io.InputStreamReader(client.getInputStream()));
            String line;
            while ((line = in.readLine()) != null && !line.startsWith("first=")) {
                // capeff, uid
            }
            assertThat(line).isEqualTo("first=NetlinkException");
            long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(30);
            while (daemon.stats().refused() < bindsBefore + 20 && System.nanoTime() < deadline) {
                Thread.sleep(1); // let it get well into its requests
            }
        } finally {
            client.destroyForcibly(); // SIGKILL, wherever it is: writing, waiting, reading
            client.waitFor(1, java.util.concurrent.TimeUnit.MINUTES);
        }
        // asked from outside, as root; its connection is accepted after any the killed client left queued
        BinderDaemon.Stats s = BinderDaemon.statsOf(daemon.socket());
        assertThat(s.bindings()).isZero();
        assertThat(s.refused()).isGreaterThanOrEqualTo(bindsBefore + 20);
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(30);
        while (daemon.stats().connections() != 0 && System.nanoTime() < deadline) {
            Thread.sleep(2);
        }
        assertThat(daemon.stats().connections()).as("every connection of the killed client ended").isZero();
        assertThat(daemon.stats().bindings()).isZero();
        assertThat(netlinkSocketsHeld()).as("no netlink socket outlived the killed client").isEqualTo(netlinkBefore);
        // the count above is the daemon's own word; the descriptors are the kernel's (the root client's
        // connection for the stats may still be closing: wait for it)
        while (unixSocketsHeld() != unixBefore && System.nanoTime() < deadline) {
            Thread.sleep(2);
        }
        assertThat(unixSocketsHeld()).as("no AF_UNIX socket of the killed client's connections is left open")
                .isEqualTo(unixBefore);
    }

    /** Netlink sockets of this process (the daemon) in the test namespace. */
    private static long netlinkSocketsHeld() throws Exception {
        return socketsHeld("netlink", -1);
    }

    /**
     * AF_UNIX sockets of this process: the daemon's listener (in the test namespace) and its end of
     * each connection, which the kernel creates in the connecting client's namespace (here the root one).
     */
    private static long unixSocketsHeld() throws Exception {
        return socketsHeld("unix", 6);
    }

    /** Descriptors of this process on sockets in {@code /proc/net/<table>} (inode in {@code column}, -1: last). */
    private static long socketsHeld(String table, int column) throws Exception {
        java.util.concurrent.Callable<Set<String>> listed = () -> {
            try (Stream<String> lines = Files.lines(Path.of("/proc/thread-self/net/" + table))) {
                return lines.skip(1).map(l -> {
                    String[] f = l.trim().split("\\s+");
                    return "socket:[" + f[column < 0 ? f.length - 1 : column] + "]";
                }).collect(Collectors.toSet());
            }
        };
        Set<String> inodes = new java.util.HashSet<>(ns.call(listed));
        if (!table.equals("netlink")) {
            inodes.addAll(listed.call()); // this thread's namespace: the root one
        }
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.map(p -> {
                try {
                    return Files.readSymbolicLink(p).toString();
                } catch (IOException e) {
                    return "";
                }
            }).filter(inodes::contains).count();
        }
    }
}
