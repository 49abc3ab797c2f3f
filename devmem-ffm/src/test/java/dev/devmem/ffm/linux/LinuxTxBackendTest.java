package dev.devmem.ffm.linux;

import dev.devmem.api.DevmemUnsupportedException;
import dev.devmem.api.DmabufSource;
import dev.devmem.api.Errno;
import dev.devmem.api.FragKind;
import dev.devmem.api.NetlinkException;
import dev.devmem.api.SyscallException;
import dev.devmem.api.TxBindingSpec;
import dev.devmem.api.spi.DevmemListener;
import dev.devmem.api.spi.DevmemSocket;
import dev.devmem.api.spi.DevmemTxSocket;
import dev.devmem.api.spi.IoWaiter;
import dev.devmem.api.spi.Pollable;
import dev.devmem.api.spi.TxBinding;
import dev.devmem.api.spi.TxStats;
import dev.devmem.ffm.sys.LinuxConstants;
import dev.devmem.ffm.sys.Syscalls;
import dev.devmem.ffm.testing.NetcatPattern;
import dev.devmem.ffm.testing.PatternReceiver;
import dev.devmem.ffm.testing.TxSlots;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * LinuxBackend's TX path against the real kernel. Devmem TX itself needs a netmem-TX driver this
 * host lacks, so bind-tx on lo answers EOPNOTSUPP; the opt-in copy fallback turns that into a
 * host-memory binding whose sends are real MSG_ZEROCOPY sends with real completions, through the
 * same SPI, engine and ledger a devmem binding uses.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class LinuxTxBackendTest {
    private final LinuxBackend backend = new LinuxBackend();

    private static int memfd(long size) throws SyscallException {
        int fd = Syscalls.check(Syscalls.memfdCreate("devmem-tx-test", LinuxConstants.MFD_CLOEXEC), "memfd_create");
        Syscalls.check(Syscalls.ftruncate(fd, size), "ftruncate");
        return fd;
    }

    @Test
    void withoutTheFallbackBindTxOnLoIsTheKernelsRefusal() throws Exception {
        int fd = memfd(1 << 20);
        try {
            NetlinkException e = catchThrowableOfType(NetlinkException.class,
                    () -> backend.bindTx(new TxBindingSpec("lo", DmabufSource.ofFd(fd, 1 << 20))));
            assertThat(e.operation()).isEqualTo("netdev bind-tx");
            assertThat(e.errno()).isEqualTo(Errno.EOPNOTSUPP);
            assertThat(e.extackMessage()).contains("Driver does not support netmem TX");
            assertThat(e.explanation()).contains("netmem TX");
        } finally {
            Syscalls.close(fd);
        }
    }

    @Test
    void theCopyFallbackSendsTheMappedDmabufWithRealZerocopyCompletions() throws Exception {
        long total = 64L << 20;
        int slot = 1 << 20;
        int slots = 4;
        long fdsBefore = openFds();
        int fd = memfd((long) slot * slots);
        NetcatPattern pattern = NetcatPattern.kernelDoc();
        try (TxBinding b = backend.bindTx(new TxBindingSpec("lo", DmabufSource.ofFd(fd, (long) slot * slots))
                .withCopyFallback(true));
             DevmemListener listener = backend.listen(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 1);
             DevmemTxSocket out = backend.connectTx(listener.localAddress(), b);
             DevmemSocket in = accept(listener)) {
            assertThat(b.id()).as("id 0: the kernel's 'not devmem'").isZero();
            assertThat(b.fallbackCause()).get().isInstanceOfSatisfying(NetlinkException.class, e -> {
                assertThat(e.errno()).isEqualTo(Errno.EOPNOTSUPP);
                assertThat(e.extackMessage()).contains("Driver does not support netmem TX");
            });
            assertThat(b.hostView()).get().extracting(MemorySegment::byteSize).isEqualTo((long) slot * slots);
            assertThat(b.toString()).contains("copy fallback");

            CompletableFuture<PatternReceiver.Result> receiver = CompletableFuture.supplyAsync(() -> {
                try (IoWaiter w = backend.newIoWaiter()) {
                    return PatternReceiver.receive(in, w, pattern, 0);
                } catch (Exception e) {
                    throw new CompletionException(e);
                }
            });
            TxSlots.Result sent;
            try (IoWaiter w = backend.newIoWaiter()) {
                sent = TxSlots.send(out, b, w, pattern, total, slot, slots, receiver);
            }
            out.shutdownOutput();
            PatternReceiver.Result got = receiver.get(2, TimeUnit.MINUTES);
            TxStats st = out.stats();
            assertThat(got.total()).isEqualTo(total);
            assertThat(got.bytes(FragKind.HOST)).as("loopback: plain data").isEqualTo(total);
            assertThat(sent.bytesCompleted()).isEqualTo(total);
            assertThat(sent.sendsCompleted()).isEqualTo(st.sends()).isEqualTo(st.completedSends());
            assertThat(sent.copiedSends()).as("the kernel copies over loopback and says so").isEqualTo(st.sends());
            assertThat(st.bytesSent()).isEqualTo(total);
            assertThat(st.outstandingSends()).isZero();
            assertThat(st.notices()).isPositive().isLessThanOrEqualTo(st.sends());
        } finally {
            assertThat(Syscalls.fcntl(fd, LinuxConstants.F_GETFL, 0)).as("the caller's fd stays open").isNotNegative();
            Syscalls.close(fd);
        }
        assertThat(openFds()).as("binding, netlink socket and sockets gone").isEqualTo(fdsBefore);
    }

    @Test
    void aDmabufThatCannotBeMappedHasNoFallback() throws Exception {
        int fd = Syscalls.check(Syscalls.open("/dev/null", LinuxConstants.O_RDWR | LinuxConstants.O_CLOEXEC), "open");
        try {
            DevmemUnsupportedException e = catchThrowableOfType(DevmemUnsupportedException.class, () ->
                    backend.bindTx(new TxBindingSpec("lo", DmabufSource.ofFd(fd, 1 << 20)).withCopyFallback(true)));
            assertThat(e.getMessage()).contains("Driver does not support netmem TX").contains("host-mappable");
            assertThat(e.getCause()).isInstanceOf(NetlinkException.class);
        } finally {
            Syscalls.close(fd);
        }
    }

    @Test
    void theFallbackDoesNotHideOtherRefusals() {
        NetlinkException e = catchThrowableOfType(NetlinkException.class, () -> backend.bindTx(
                new TxBindingSpec("nosuch0", DmabufSource.ofFd(0, 4096)).withCopyFallback(true)));
        assertThat(e.errno()).isEqualTo(Errno.ENODEV);
    }

    @Test
    void connectTxBindsTheSocketToTheBindingsInterface() throws Exception {
        TxBinding elsewhere = new TxBinding() {
            @Override
            public int id() {
                return 7;
            }

            @Override
            public String interfaceName() {
                return "nosuch0";
            }

            @Override
            public int ifindex() {
                return 0;
            }

            @Override
            public long dmabufSize() {
                return 4096;
            }

            @Override
            public Optional<MemorySegment> hostView() {
                return Optional.empty();
            }

            @Override
            public boolean isOpen() {
                return true;
            }

            @Override
            public void close() {
            }
        };
        long fdsBefore = openFds();
        try (DevmemListener listener = backend.listen(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 1)) {
            assertThatThrownBy(() -> backend.connectTx(listener.localAddress(), elsewhere))
                    .isInstanceOfSatisfying(SyscallException.class, e -> {
                        assertThat(e.operation()).isEqualTo("setsockopt(SO_BINDTODEVICE, nosuch0)");
                        assertThat(e.errno()).isEqualTo(Errno.ENODEV);
                    });
        }
        assertThat(openFds()).isEqualTo(fdsBefore);
    }

    private DevmemSocket accept(DevmemListener listener) throws Exception {
        try (IoWaiter w = backend.newIoWaiter()) {
            for (int i = 0; i < 100; i++) {
                DevmemSocket s = listener.accept();
                if (s != null) {
                    return s;
                }
                w.await(new Pollable[]{listener}, 1, TimeUnit.MILLISECONDS.toNanos(100));
            }
        }
        throw new AssertionError("nothing to accept");
    }

    private static long openFds() throws Exception {
        try (Stream<Path> s = Files.list(Path.of("/proc/self/fd"))) {
            return s.count();
        }
    }
}
