package dev.devmem.cli;

import dev.devmem.api.DmabufSource;
import dev.devmem.api.RxBindingSpec;
import dev.devmem.api.spi.RxBinding;
import dev.devmem.ffm.DevmemBackends;
import dev.devmem.ffm.bindd.BinderBackend;
import dev.devmem.ffm.emulated.EmulatedNicConfig;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@code devmem bindd} in this JVM: its options, and a client binding through it. */
class BinddCommandTest {

    @Test
    void usersAndGroupsAreTakenByNumberOrName() {
        assertThat(BinddCommand.id("65534", Path.of("/etc/passwd"), "user")).isEqualTo(65534);
        assertThat(BinddCommand.id("root", Path.of("/etc/passwd"), "user")).isZero();
        assertThat(BinddCommand.id("root", Path.of("/etc/group"), "group")).isZero();
        assertThatThrownBy(() -> BinddCommand.id("no-such-user-here", Path.of("/etc/passwd"), "user"))
                .hasMessage("no user named no-such-user-here in /etc/passwd");
    }

    @Test
    void badOptionsAreUsageErrors() {
        assertThat(Cli.run("bindd").exit()).isEqualTo(ExitCodes.USAGE);
        Cli.Run r = Cli.run("bindd", "--socket", "/tmp/x.sock", "--allow-uid", "no-such-user-here");
        assertThat(r.exit()).as(r.toString()).isEqualTo(ExitCodes.USAGE);
        assertThat(r.err()).contains("no user named no-such-user-here");
        r = Cli.run("bindd", "--socket", "/tmp/x.sock", "--mode", "0999");
        assertThat(r.exit()).as(r.toString()).isEqualTo(ExitCodes.USAGE);
    }

    @Test
    void aClientBindsThroughTheCommandAndTheBindingEndsWithIt() throws Exception {
        Path dir = Files.createTempDirectory("bindd-cli-");
        Path socket = dir.resolve("bindd.sock");
        Cli.Running bindd = Cli.startIsolated("bindd", "--socket", socket.toString(), "--emulated",
                "--allow-uid", "nobody", "--mode", "0600");
        try {
            awaitLine(bindd, "listening on " + socket);
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(socket))).isEqualTo("rw-------");
            assertThat(bindd.errSoFar.get()).contains("allowed: root, uids [65534]");
            try (BinderBackend backend = DevmemBackends.emulatedViaBinder(socket, EmulatedNicConfig.defaults())) {
                RxBinding b = backend.bindRx(new RxBindingSpec("emu0", List.of(0), DmabufSource.emulated(8 * 4096)));
                assertThat(b.isOpen()).isTrue();
                awaitLine(bindd, "bind-rx emu0 rx [0] for pid " + ProcessHandle.current().pid());
                Cli.Run stats = Cli.run("bindd", "--stats", "--socket", socket.toString());
                assertThat(stats.exit()).as(stats.toString()).isZero();
                assertThat(stats.out()).contains("bindings=1 nicSetups=0 binds=1 refused=0 denied=0 malformed=0");
                b.close();
                awaitLine(bindd, "released: its connection ended");
            }
        } finally {
            for (Thread t : Thread.getAllStackTraces().keySet()) {
                if (t.getName().equals("cli-bindd")) {
                    t.interrupt(); // stops the command as a signal would: it closes the daemon and returns
                }
            }
        }
        Cli.Run r = bindd.await();
        assertThat(r.exit()).as(r.toString()).isEqualTo(ExitCodes.OK);
        assertThat(r.err()).contains("devmem bindd: stopped");
        assertThat(socket).doesNotExist();
        Files.deleteIfExists(dir);
    }

    private static void awaitLine(Cli.Running r, String text) throws InterruptedException {
        long deadline = System.nanoTime() + Cli.TIMEOUT.toNanos();
        while (!r.errSoFar.get().contains(text)) {
            if (r.done.isDone() || System.nanoTime() > deadline) {
                throw new AssertionError("no \"" + text + "\" in:\n" + r.errSoFar.get());
            }
            Thread.sleep(5);
        }
    }
}
