package dev.devmem.reactor;

import dev.devmem.api.Errno;
import dev.devmem.ffm.nicsetup.NicSetupException;
import dev.devmem.ffm.testing.TestNetns;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/** {@link NicSetup#kernel()} against the real kernel: a veth refuses header split, and nothing is left changed. */
class KernelNicSetupTest {

    @Test
    void vethRefusesHeaderSplitWithTheKernelsTextAndNothingChanges() throws Exception {
        try (TestNetns netns = TestNetns.create()) {
            String before = netns.exec("ethtool", "-k", "va");
            NicSetup.Target target = new NicSetup.Target("va", List.of(1),
                    new InetSocketAddress(InetAddress.getLoopbackAddress(), 5201), null);
            NicSetupException e = netns.call(() -> catchThrowableOfType(NicSetupException.class,
                    () -> NicSetup.kernel().apply(target)));
            assertThat(e.getMessage()).contains("setting TCP data split is not supported");
            assertThat(e.errno()).isEqualTo(Errno.EOPNOTSUPP);
            assertThat(netns.exec("ethtool", "-k", "va")).isEqualTo(before);
        }
    }

    @Test
    void targetsItCannotSteerAreRefusedBeforeAnythingChanges() {
        assertThatThrownBy(() -> NicSetup.kernel().apply(new NicSetup.Target("eth9", List.of(1),
                new InetSocketAddress(5201), null)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("concrete local address");
        assertThatThrownBy(() -> NicSetup.kernel().apply(new NicSetup.Target("eth9", List.of(1),
                null, new InetSocketAddress(InetAddress.getLoopbackAddress(), 5201))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("client-side");
        assertThatThrownBy(() -> NicSetup.kernel().apply(new NicSetup.Target("eth9", List.of(1),
                new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), null)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("port 0");
        assertThatThrownBy(() -> NicSetup.kernel().apply(new NicSetup.Target(null, List.of(), null, null)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("binds");
    }
}
