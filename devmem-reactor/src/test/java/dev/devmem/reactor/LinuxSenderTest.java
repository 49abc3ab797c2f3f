package dev.devmem.reactor;

import dev.devmem.api.DmabufSource;
import dev.devmem.api.Errno;
import dev.devmem.api.FragKind;
import dev.devmem.api.NetlinkException;
import dev.devmem.api.SyscallException;
import dev.devmem.api.spi.DevmemListener;
import dev.devmem.api.spi.DevmemSocket;
import dev.devmem.ffm.DevmemBackends;
import dev.devmem.api.spi.DevmemBackend;
import dev.devmem.ffm.sys.LinuxConstants;
import dev.devmem.ffm.sys.Syscalls;
import dev.devmem.ffm.testing.NetcatPattern;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import reactor.test.StepVerifier;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The Reactor sender on this host's real kernel. Devmem TX needs a netmem-TX driver this host lacks
 * (bind-tx on lo answers EOPNOTSUPP), so: strictly, the subscriber gets that refusal; with the opt-in
 * copy fallback, the dmabuf (a memfd the caller owns) is sent as host memory with real MSG_ZEROCOPY,
 * and the kernel's own completion notifications drive the same ledger, regions and meters.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class LinuxSenderTest {
    private static final NetcatPattern PATTERN = NetcatPattern.ncdevmem(8);

    private static int memfd(long size) throws SyscallException {
        int fd = Syscalls.check(Syscalls.memfdCreate("devmem-sender-test", LinuxConstants.MFD_CLOEXEC), "memfd_create");
        Syscalls.check(Syscalls.ftruncate(fd, size), "ftruncate");
        return fd;
    }

    private static long openFds() throws Exception {
        try (Stream<Path> s = Files.list(Path.of("/proc/self/fd"))) {
            return s.count();
        }
    }

    @Test
    void strictlyTheSubscriberGetsTheKernelsRefusal() throws Exception {
        DevmemBackend linux = DevmemBackends.linux();
        int fd = memfd(1 << 20);
        try {
            StepVerifier.create(DevmemSender.create(linux).interfaceName("lo").dmabuf(DmabufSource.ofFd(fd, 1 << 20))
                            .send(new InetSocketAddress(InetAddress.getLoopbackAddress(), 9), SenderTest.pattern(1 << 20, 4096)))
                    .expectErrorSatisfies(e -> {
                        assertThat(e).isInstanceOf(NetlinkException.class);
                        NetlinkException n = (NetlinkException) e;
                        assertThat(n.operation()).isEqualTo("netdev bind-tx");
                        assertThat(n.errno()).isEqualTo(Errno.EOPNOTSUPP);
                        assertThat(n.extackMessage()).contains("Driver does not support netmem TX");
                    })
                    .verify(Duration.ofSeconds(30));
        } finally {
            Syscalls.close(fd);
        }
    }

    @Test
    void theCopyFallbackRunsOnRealKernelCompletions() throws Exception {
        DevmemBackend linux = DevmemBackends.linux();
        long total = 128L << 20;
        int slice = 1 << 20;
        long fdsBefore = openFds();
        int fd = memfd(4L << 20);
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        try (DevmemListener listener = linux.listen(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 1)) {
            Mono<Long> received = DevmemReceiver.create(linux)
                    .open(() -> accept(listener))
                    .flatMapMany(DevmemConnection::receive)
                    .publishOn(Schedulers.boundedElastic(), 256)
                    .reduce(0L, (pos, f) -> {
                        assertThat(f.kind()).isEqualTo(FragKind.HOST);
                        assertThat(f.streamPosition()).isEqualTo(pos);
                        PATTERN.verify(f.segment(), pos);
                        f.release();
                        return pos + f.length();
                    })
                    .cache();
            received.subscribe();
            AtomicReference<TxBuffer> buffer = new AtomicReference<>();
            long[] completions = new long[3]; // slices, bytes, copied
            DevmemSender.create(linux).interfaceName("lo").dmabuf(DmabufSource.ofFd(fd, 4L << 20))
                    .copyFallback(true).maxInFlightBytes(2 << 20).meterRegistry(meters)
                    .send(listener.localAddress(), b -> {
                        buffer.set(b);
                        return reactor.core.publisher.Flux.range(0, (int) (total / slice))
                                .concatMap(i -> b.lease(slice).map(s -> {
                                    PATTERN.fill(s.segment(), (long) i * slice);
                                    return s;
                                }), 0);
                    })
                    .doOnNext(c -> {
                        assertThat(c.sequence()).isEqualTo(completions[0]);
                        completions[0]++;
                        completions[1] += c.length();
                        if (c.copied()) {
                            completions[2]++;
                        }
                    })
                    .blockLast(Duration.ofMinutes(2));
            assertThat(received.block(Duration.ofMinutes(2))).isEqualTo(total);
            assertThat(completions[0]).isEqualTo(total / slice);
            assertThat(completions[1]).isEqualTo(total);
            assertThat(completions[2]).as("the kernel copies over loopback and says so").isEqualTo(total / slice);
            assertThat(buffer.get().bindingId()).isZero();
            assertThat(buffer.get().fallbackCause()).get().isInstanceOfSatisfying(NetlinkException.class,
                    e -> assertThat(e.extackMessage()).contains("Driver does not support netmem TX"));
            assertThat(meters.get("devmem.tx.fallbacks").counter().count()).isEqualTo(1);
            assertThat(meters.get("devmem.tx.bytes").counter().count()).isEqualTo((double) total);
            assertThat(meters.get("devmem.tx.completed.bytes").counter().count()).isEqualTo((double) total);
            assertThat(meters.get("devmem.tx.completions").counter().count())
                    .isEqualTo(meters.get("devmem.tx.sends").counter().count())
                    .isEqualTo(meters.get("devmem.tx.copied").counter().count());
            assertThat(meters.get("devmem.tx.notifications").counter().count()).isPositive()
                    .isLessThanOrEqualTo(meters.get("devmem.tx.sends").counter().count());
            assertThat(meters.get("devmem.tx.outstanding.bytes").gauge().value()).isZero();
            assertThat(meters.get("devmem.tx.bindings.active").tags("mode", "fallback").gauge().value()).isZero();
        } finally {
            Syscalls.close(fd);
        }
        Await.until("every fd of the subscription closed", () -> {
            try {
                return openFds() <= fdsBefore;
            } catch (Exception e) {
                return false;
            }
        });
    }

    private static DevmemSocket accept(DevmemListener l) throws Exception {
        long deadline = System.nanoTime() + Await.TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            DevmemSocket s = l.accept();
            if (s != null) {
                return s;
            }
            try (var w = DevmemBackends.linux().newIoWaiter()) {
                w.await(new dev.devmem.api.spi.Pollable[]{l}, 1, TimeUnit.MILLISECONDS.toNanos(100));
            }
        }
        throw new AssertionError("nothing connected");
    }
}
