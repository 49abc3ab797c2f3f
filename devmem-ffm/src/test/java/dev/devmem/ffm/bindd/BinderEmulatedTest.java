package dev.devmem.ffm.bindd;

import dev.devmem.api.DmabufSource;
import dev.devmem.api.Errno;
import dev.devmem.api.FragKind;
import dev.devmem.api.NetlinkException;
import dev.devmem.api.RxBindingSpec;
import dev.devmem.api.spi.DevmemListener;
import dev.devmem.api.spi.DevmemSocket;
import dev.devmem.api.spi.IoWaiter;
import dev.devmem.api.spi.Pollable;
import dev.devmem.api.spi.RxBinding;
import dev.devmem.ffm.DevmemBackends;
import dev.devmem.ffm.emulated.EmulatedBackend;
import dev.devmem.ffm.emulated.EmulatedNicConfig;
import dev.devmem.ffm.emulated.FlowSteering;
import dev.devmem.ffm.sys.LinuxConstants;
import dev.devmem.ffm.sys.Syscalls;
import dev.devmem.ffm.testing.NetcatPattern;
import dev.devmem.ffm.testing.PatternReceiver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The emulated devmem NIC through the daemon, end to end and in one process: the daemon is the
 * NIC's control plane, the client's NIC receives real loopback TCP into the dmabuf the daemon
 * allocated and passed back, and the stream is checked byte for byte.
 */
class BinderEmulatedTest {
    static final EmulatedNicConfig NIC = EmulatedNicConfig.defaults().withRxQueues(2);

    private Path dir;
    private BinderDaemon daemon;
    private final List<String> log = Collections.synchronizedList(new ArrayList<>());

    @BeforeEach
    void start() throws Exception {
        dir = Files.createTempDirectory("bindd-");
        daemon = BinderDaemon.start(BinderConfig.of(dir.resolve("bindd.sock")).withEmulatedNic(NIC), log::add);
    }

    @AfterEach
    void stop() throws Exception {
        daemon.close();
        assertThat(dir.resolve("bindd.sock")).doesNotExist();
        Files.deleteIfExists(dir);
    }

    private EmulatedNicConfig clientNic() {
        return NIC.withFlowSteering(FlowSteering.toQueue(1));
    }

    @Test
    void aStreamArrivesIntactThroughADaemonGrantedBindingAndEverythingIsReleasedAfter() throws Exception {
        long total = 16L << 20;
        NetcatPattern pattern = NetcatPattern.kernelDoc();
        try (BinderBackend backend = DevmemBackends.emulatedViaBinder(daemon.socket(), clientNic());
             IoWaiter waiter = backend.newIoWaiter()) {
            EmulatedBackend local = (EmulatedBackend) backend.local();
            RxBinding binding = backend.bindRx(new RxBindingSpec("emu0", List.of(1), DmabufSource.emulated(32 * 4096)));
            assertThat(daemon.stats().bindings()).isEqualTo(1);
            assertThat(BinderLease.stats(daemon.socket()).bindings()).as("the daemon's own STATS answer").isEqualTo(1);
            assertThat(local.nic().queueBinding(1)).isPresent();
            assertThat(binding.dmabufSize()).isEqualTo(32 * 4096);

            DevmemListener listener = backend.listen(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 4);
            CompletableFuture<Void> sender = CompletableFuture.runAsync(() -> {
                try (Socket s = new Socket(InetAddress.getLoopbackAddress(), listener.localAddress().getPort())) {
                    OutputStream out = s.getOutputStream();
                    for (long sent = 0; sent < total; sent += 7 * 9362) {
                        out.write(pattern.bytes(sent, (int) Math.min(7 * 9362, total - sent)));
                    }
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            DevmemSocket socket;
            while ((socket = listener.accept()) == null) {
                waiter.await(new Pollable[] {listener}, 1, TimeUnit.SECONDS.toNanos(5));
            }
            PatternReceiver.Result r = PatternReceiver.receive(socket, waiter, pattern, 0);
            sender.get(1, TimeUnit.MINUTES);
            assertThat(r.total()).isEqualTo(total);
            assertThat(r.bytes(FragKind.DMABUF)).as("the daemon-granted dmabuf carried the payload").isPositive();
            assertThat(r.bytes(FragKind.HOST)).isZero();
            assertThat(socket.outstanding()).isZero();
            assertThat(local.nic().stats().tokensOutstanding()).as("ledger").isZero();
            socket.close();
            listener.close();

            binding.close();
            assertThat(local.nic().queueBinding(1)).isEmpty();
            assertThat(daemon.stats().bindings()).as("closing the binding ended the lease").isZero();
            assertThat(daemon.stats().binds()).isEqualTo(1);
        }
    }

    @Test
    void aClientsOwnMemfdIsPassedAndTheDaemonHoldsTheQueueLikeAKernelWould() throws Exception {
        int memfd = Syscalls.memfdCreate("client-dmabuf", LinuxConstants.MFD_CLOEXEC);
        Syscalls.check(Syscalls.ftruncate(memfd, 16 * 4096), "ftruncate");
        try (BinderBackend a = DevmemBackends.emulatedViaBinder(daemon.socket(), clientNic());
             BinderBackend b = DevmemBackends.emulatedViaBinder(daemon.socket(), clientNic())) {
            RxBinding first = a.bindRx(new RxBindingSpec("emu0", List.of(0), DmabufSource.ofFd(memfd, 16 * 4096)));
            // a second process asks for the same queue: the daemon's control plane refuses as the kernel does
            assertThatThrownBy(() -> b.bindRx(new RxBindingSpec("emu0", List.of(0), DmabufSource.emulated(16 * 4096))))
                    .isInstanceOfSatisfying(NetlinkException.class, e -> {
                        assertThat(e.errno()).isEqualTo(Errno.EEXIST);
                        assertThat(e.extackMessage()).contains("designated queue already memory provider bound");
                    });
            assertThatThrownBy(() -> b.bindRx(new RxBindingSpec("eth9", List.of(0), DmabufSource.emulated(16 * 4096))))
                    .isInstanceOfSatisfying(NetlinkException.class, e -> assertThat(e.errno()).isEqualTo(Errno.ENODEV));
            assertThat(daemon.stats().refused()).isEqualTo(2);
            first.close();
            RxBinding second = b.bindRx(new RxBindingSpec("emu0", List.of(0), DmabufSource.emulated(16 * 4096)));
            assertThat(second.isOpen()).isTrue();
            second.close();
            assertThat(daemon.stats().bindings()).isZero();
        } finally {
            Syscalls.close(memfd);
        }
    }

    @Test
    void whenTheDaemonStopsTheInstalledBindingIsUnboundAsTheKernelWouldUnbind() throws Exception {
        try (BinderBackend backend = DevmemBackends.emulatedViaBinder(daemon.socket(), clientNic())) {
            EmulatedBackend local = (EmulatedBackend) backend.local();
            RxBinding binding = backend.bindRx(new RxBindingSpec("emu0", List.of(1), DmabufSource.emulated(8 * 4096)));
            assertThat(binding.isOpen()).isTrue();
            daemon.close();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (binding.isOpen() && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertThat(binding.isOpen()).as("the lease watcher unbound it").isFalse();
            assertThat(local.nic().queueBinding(1)).isEmpty();
            binding.close();
        }
    }
}
