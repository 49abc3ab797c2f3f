package dev.devmem.ffm.linux;

import dev.devmem.api.DevmemException;
import dev.devmem.api.DevmemUnsupportedException;
import dev.devmem.api.DmabufSource;
import dev.devmem.api.Errno;
import dev.devmem.api.NetlinkException;
import dev.devmem.api.RxBindingSpec;
import dev.devmem.api.TxBindingSpec;
import dev.devmem.ffm.dmabuf.DmabufExporters;
import dev.devmem.ffm.sys.Syscalls;
import dev.devmem.ffm.testing.TestNetns;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static dev.devmem.ffm.sys.LinuxConstants.MFD_CLOEXEC;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * LinuxBackend's bindings against the real kernel, in a namespace of the test's own: every answer
 * this host can give (a veth has no queue API, no exporter device exists here) surfaces as the
 * typed exception with the kernel's reason, and no fd is left behind.
 */
class LinuxBackendBindTest {
    private static TestNetns netns;
    private final LinuxBackend backend = new LinuxBackend();

    @BeforeAll
    static void namespace() {
        netns = TestNetns.create();
    }

    @AfterAll
    static void deleteNamespace() {
        if (netns != null) {
            netns.close();
        }
    }

    @Test
    void bindRxOfACallersFdOnVethIsRefusedAndTheFdStaysTheCallers() throws Exception {
        int memfd = Syscalls.check(Syscalls.memfdCreate("devmem-bind-test", MFD_CLOEXEC), "memfd_create");
        try {
            Syscalls.check(Syscalls.ftruncate(memfd, 1 << 20), "ftruncate");
            java.util.Set<String> fdsBefore = openFds();
            NetlinkException e = netns.call(() -> catchThrowableOfType(NetlinkException.class, () ->
                    backend.bindRx(new RxBindingSpec("va", List.of(0), DmabufSource.ofFd(memfd, 1 << 20)))));
            assertThat(e.errno()).isEqualTo(Errno.EOPNOTSUPP);
            assertThat(e.offendingAttribute()).contains("dmabuf.ifindex");
            assertThat(e.getMessage()).contains("queue");
            assertNoFdLeftSince(fdsBefore);
            assertThat(Syscalls.fcntl(memfd, dev.devmem.ffm.sys.LinuxConstants.F_GETFL, 0))
                    .as("the caller's dmabuf fd is still open").isNotNegative();
        } finally {
            Syscalls.close(memfd);
        }
    }

    @Test
    void bindTxOnVethGivesTheKernelsReason() throws Exception {
        int memfd = Syscalls.check(Syscalls.memfdCreate("devmem-bind-test", MFD_CLOEXEC), "memfd_create");
        try {
            NetlinkException e = netns.call(() -> catchThrowableOfType(NetlinkException.class, () ->
                    backend.bindTx(new TxBindingSpec("va", DmabufSource.ofFd(memfd, 4096)))));
            assertThat(e.errno()).isEqualTo(Errno.EOPNOTSUPP);
            assertThat(e.extackMessage()).contains("Driver does not support netmem TX");
        } finally {
            Syscalls.close(memfd);
        }
    }

    @Test
    void aMissingInterfaceIsEnodevNamingIt() throws Exception {
        NetlinkException e = netns.call(() -> catchThrowableOfType(NetlinkException.class, () ->
                backend.bindRx(new RxBindingSpec("nosuch0", List.of(0), DmabufSource.ofFd(0, 4096)))));
        assertThat(e.errno()).isEqualTo(Errno.ENODEV);
        assertThat(e.getMessage()).contains("nosuch0");
    }

    @Test
    void exportersThatThisHostLacksSayWhatIsMissingAndLeakNothing() throws Exception {
        java.util.Set<String> fdsBefore = openFds();
        DevmemException udmabuf = netns.call(() -> catchThrowableOfType(DevmemException.class, () ->
                backend.bindRx(new RxBindingSpec("va", List.of(0), DmabufSource.udmabuf(1 << 20)))));
        if (Files.exists(DmabufExporters.UDMABUF_DEVICE)) {
            // the exporter worked; the veth then refuses the bind, and the udmabuf must be gone again
            assertThat(udmabuf).isInstanceOf(NetlinkException.class);
            assertThat(((NetlinkException) udmabuf).errno()).isEqualTo(Errno.EOPNOTSUPP);
        } else {
            assertThat(udmabuf).isInstanceOf(DevmemUnsupportedException.class)
                    .hasMessageContaining("/dev/udmabuf does not exist").hasMessageContaining("modprobe udmabuf");
        }
        DevmemException heap = netns.call(() -> catchThrowableOfType(DevmemException.class, () ->
                backend.bindRx(new RxBindingSpec("va", List.of(0), DmabufSource.dmaHeap("devmem-no-such-heap", 1 << 20)))));
        assertThat(heap).isInstanceOf(DevmemUnsupportedException.class)
                .hasMessageContaining("/dev/dma_heap/devmem-no-such-heap does not exist");
        DevmemException cuda = netns.call(() -> catchThrowableOfType(DevmemException.class, () ->
                backend.bindRx(new RxBindingSpec("va", List.of(0), DmabufSource.cuda(0, 1 << 20)))));
        if (DmabufExporters.cudaUnavailableReason().isPresent()) {
            assertThat(cuda).isInstanceOf(DevmemUnsupportedException.class).hasMessageContaining("libcuda.so.1");
        } else {
            System.out.println("CUDA driver present: the CUDA export path ran for real and ended with " + cuda);
        }
        DevmemException emulated = catchThrowableOfType(DevmemException.class, () ->
                backend.bindRx(new RxBindingSpec("lo", List.of(0), DmabufSource.emulated(1 << 20))));
        assertThat(emulated).isInstanceOf(DevmemUnsupportedException.class).hasMessageContaining("emulated");
        assertNoFdLeftSince(fdsBefore);
    }

    /**
     * Only what the test opened counts: other tests' threads in this JVM may close their fds
     * meanwhile (a plain count once came out one lower). A leaked fd is a new (number, target) pair;
     * a socket's or anon inode's target names its inode, so a reused number still shows.
     */
    private static void assertNoFdLeftSince(java.util.Set<String> before) throws IOException {
        java.util.Set<String> left = openFds();
        left.removeAll(before);
        assertThat(left).as("fds opened by the failed binds and left open").isEmpty();
    }

    private static java.util.Set<String> openFds() throws IOException {
        try (Stream<Path> s = Files.list(Path.of("/proc/self/fd"))) {
            java.util.Set<String> fds = new java.util.HashSet<>();
            for (Path p : s.toList()) {
                try {
                    Path target = Files.readSymbolicLink(p);
                    if (target.toString().startsWith("/proc/") && target.toString().endsWith("/fd")) {
                        continue; // the listing's own directory fd
                    }
                    fds.add(p.getFileName() + " -> " + target);
                } catch (IOException closedMeanwhile) {
                    // not ours to count
                }
            }
            return fds;
        }
    }
}
