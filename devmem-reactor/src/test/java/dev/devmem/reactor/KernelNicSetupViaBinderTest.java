package dev.devmem.reactor;

import dev.devmem.api.Errno;
import dev.devmem.api.NetlinkException;
import dev.devmem.ffm.DevmemBackends;
import dev.devmem.ffm.bindd.BinderConfig;
import dev.devmem.ffm.bindd.BinderDaemon;
import dev.devmem.ffm.nicsetup.NicSetupException;
import dev.devmem.ffm.testing.TestNetns;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * {@link NicSetup#kernel(dev.devmem.api.spi.KernelNicSetup)} with devmem-ffm's NIC setup through
 * {@code devmem bindd}: the daemon, started in a test namespace, applies the devmem setup to its
 * veth; the kernel refuses header split, and the receiver's setup hook throws exactly what
 * {@link NicSetup#kernel()} throws in-process, with nothing changed.
 */
class KernelNicSetupViaBinderTest {

    @Test
    void theDaemonsSetupOfAVethFailsWithTheKernelsTextAndChangesNothing() throws Exception {
        Path dir = Files.createTempDirectory("reactor-bindd-");
        Path state = Files.createTempDirectory("reactor-bindd-state-");
        try (TestNetns netns = TestNetns.create()) {
            BinderConfig config = BinderConfig.of(dir.resolve("bindd.sock")).withNicStateDir(state);
            try (BinderDaemon daemon = netns.call(() -> BinderDaemon.start(config, line -> { }))) {
                String before = netns.exec("ethtool", "-k", "va");
                NicSetup viaDaemon = NicSetup.kernel(DevmemBackends.nicSetupViaBinder(daemon.socket()));
                NicSetup.Target target = new NicSetup.Target("va", List.of(1),
                        new InetSocketAddress(InetAddress.getByName("10.9.0.1"), 5201), null);
                // from this thread, outside the namespace: the daemon's namespace is what counts
                NicSetupException e = catchThrowableOfType(NicSetupException.class, () -> viaDaemon.apply(target));
                assertThat(e.step()).isEqualTo("header-split");
                assertThat(e.errno()).isEqualTo(Errno.EOPNOTSUPP);
                assertThat(e.getCause()).isInstanceOfSatisfying(NetlinkException.class,
                        n -> assertThat(n.extackMessage()).hasValue("setting TCP data split is not supported"));
                NicSetupException inProcess = netns.call(() -> catchThrowableOfType(NicSetupException.class,
                        () -> NicSetup.kernel().apply(target)));
                assertThat(e).hasMessage(inProcess.getMessage());
                assertThat(netns.exec("ethtool", "-k", "va")).isEqualTo(before);
                assertThat(daemon.stats().nicSetups()).isZero();
                assertThat(viaDaemon.toString()).startsWith("NicSetup.kernel(BinderNicSetup[");
            }
        } finally {
            Files.deleteIfExists(dir);
            try (var files = Files.walk(state)) { // the setup's per-namespace directory, and no state file in it
                for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    assertThat(p).as("no state file left").satisfiesAnyOf(Files::isDirectory);
                    Files.delete(p);
                }
            }
        }
    }

    @Test
    void theOverloadChecksTheTargetBeforeAskingTheDaemon() {
        // no daemon listens here: a target that reached it would fail with ECONNREFUSED/ENOENT instead
        NicSetup viaDaemon = NicSetup.kernel(DevmemBackends.nicSetupViaBinder(Path.of("/nonexistent/bindd.sock")));
        assertThatThrownBy(() -> viaDaemon.apply(new NicSetup.Target("eth9", List.of(1), new InetSocketAddress(5201),
                null))).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("concrete local address");
        assertThatThrownBy(() -> viaDaemon.apply(new NicSetup.Target("eth9", List.of(1),
                new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), null)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("port 0");
        assertThatThrownBy(() -> viaDaemon.apply(new NicSetup.Target(null, List.of(), null, null)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("binds");
        assertThatThrownBy(() -> NicSetup.kernel(null)).isInstanceOf(NullPointerException.class);
    }
}
