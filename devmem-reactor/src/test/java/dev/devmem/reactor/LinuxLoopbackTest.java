package dev.devmem.reactor;

import dev.devmem.api.DmabufSource;
import dev.devmem.api.Errno;
import dev.devmem.api.FragKind;
import dev.devmem.api.NetlinkException;
import dev.devmem.ffm.DevmemBackends;
import dev.devmem.api.spi.DevmemBackend;
import dev.devmem.ffm.sys.LinuxConstants;
import dev.devmem.ffm.sys.Syscalls;
import dev.devmem.ffm.testing.NetcatPattern;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;
import reactor.test.StepVerifier;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The receive Flux over this host's real kernel on loopback: no devmem NIC here, so the flow is
 * not steered to a bound queue and every frag is HOST (the linear path); the same engine, loop,
 * budget and release path as with a devmem NIC.
 */
class LinuxLoopbackTest {
    private static final NetcatPattern PATTERN = NetcatPattern.ncdevmem(8);

    @Test
    void streamOverTheKernelWithAsynchronousReleaseEveryByteValidated() throws Exception {
        DevmemBackend linux = DevmemBackends.linux();
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        DevmemReceiver r = DevmemReceiver.create(linux).meterRegistry(meters);
        InetSocketAddress addr = Peer.freeLoopbackAddress();
        long total = 256L << 20;
        Scheduler validators = Schedulers.newSingle("validator");
        AtomicLong next = new AtomicLong();
        try {
            Mono<Long> bytes = r.receiveOne(addr)
                    .publishOn(validators, 256)
                    .doOnNext(f -> {
                        assertThat(f.kind()).isEqualTo(FragKind.HOST);
                        if (f.streamPosition() != next.get()) {
                            throw new AssertionError("frag at " + f.streamPosition() + ", expected " + next.get());
                        }
                        PATTERN.verify(f.segment(), f.streamPosition());
                        next.addAndGet(f.length());
                        f.release();
                    })
                    .map(f -> (long) f.length())
                    .reduce(0L, Long::sum);
            StepVerifier.create(bytes)
                    .then(() -> Peer.connect(addr, PATTERN).sendAsync(total, true))
                    .expectNext(total)
                    .expectComplete()
                    .verify(java.time.Duration.ofMinutes(3));
        } finally {
            validators.dispose();
        }
        assertThat(meters.get("devmem.received.bytes").tags("kind", "host").counter().count()).isEqualTo((double) total);
        Await.until("connection closed", () -> meters.get("devmem.connections.active").gauge().value() == 0);
        assertThat(meters.get("devmem.reclaimed.frags").counter().count()).isZero();
        assertThat(meters.get("devmem.returned.frags").counter().count())
                .isEqualTo(meters.get("devmem.received.frags").tags("kind", "host").counter().count());
        assertThat(meters.get("devmem.tokens.outstanding").gauge().value()).isZero();
    }

    @Test
    void cancelWithASilentPeerClosesTheKernelSocketAndThePeerSeesTheEnd() throws Exception {
        DevmemReceiver r = DevmemReceiver.create(DevmemBackends.linux());
        InetSocketAddress addr = Peer.freeLoopbackAddress();
        AtomicLong bytes = new AtomicLong();
        AtomicReference<DevmemConnection> conn = new AtomicReference<>();
        Disposable d = r.listen(addr).flatMap(c -> {
            conn.set(c);
            return c.receive();
        }).subscribe(f -> {
            bytes.addAndGet(f.length());
            f.release();
        });
        Peer peer = Peer.connect(addr, PATTERN);
        peer.send(100_000);
        Await.until("bytes received", () -> bytes.get() == 100_000);
        d.dispose();
        StepVerifier.create(conn.get().onClose()).expectComplete().verify(Await.TIMEOUT);
        assertThat(peer.channel.read(java.nio.ByteBuffer.allocate(1))).as("the peer sees the close").isEqualTo(-1);
        assertThat(conn.get().stats().fragsOutstanding()).isZero();
        peer.close();
    }

    /**
     * A memfd handed over as the dmabuf ({@code DmabufSource.ofFd}) needs no exporter, so the bind
     * reaches the kernel through a netlink socket of its own, and the kernel refuses lo
     * (EOPNOTSUPP: no queue API): the refusal proves the socket existed, and the check afterwards
     * proves it was closed. (With a udmabuf the bind failed on this host before any netlink socket
     * was opened, and the leak check could not fail.)
     */
    @Test
    void bindingOnLoopbackFailsTypedAndLeavesNoNetlinkSocketOpen() throws Exception {
        int memfd = Syscalls.check(Syscalls.memfdCreate("devmem-test-dmabuf", LinuxConstants.MFD_CLOEXEC), "memfd_create");
        try {
            Syscalls.check(Syscalls.ftruncate(memfd, 1 << 20), "ftruncate");
            Set<String> before = netlinkSockets();
            DevmemReceiver r = DevmemReceiver.create(DevmemBackends.linux())
                    .interfaceName("lo").rxQueues(0).dmabuf(DmabufSource.ofFd(memfd, 1 << 20));
            StepVerifier.create(r.receiveOne(Peer.freeLoopbackAddress()))
                    .expectErrorSatisfies(e -> {
                        assertThat(e).isInstanceOf(NetlinkException.class);
                        assertThat(((NetlinkException) e).errno()).as("the kernel's answer for lo")
                                .isEqualTo(Errno.EOPNOTSUPP);
                    })
                    .verify(Await.TIMEOUT);
            Await.until("no netlink socket left open by the failed bind", () -> {
                Set<String> now = netlinkSockets();
                now.removeAll(before);
                return now.isEmpty();
            }, () -> "open: " + netlinkSockets());
            assertThat(Syscalls.fcntl(memfd, LinuxConstants.F_GETFL, 0)).as("the caller's memfd stays open").isNotNegative();
        } finally {
            Syscalls.close(memfd);
        }
    }

    /** The inodes of this process's open netlink sockets. */
    static Set<String> netlinkSockets() {
        Set<String> netlink = new HashSet<>();
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/net/netlink"))) {
                String[] cols = line.trim().split("\\s+");
                if (cols.length > 0 && !cols[0].equals("sk")) {
                    netlink.add(cols[cols.length - 1]);
                }
            }
            Set<String> open = new HashSet<>();
            try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
                fds.forEach(fd -> {
                    try {
                        String link = Files.readSymbolicLink(fd).toString();
                        if (link.startsWith("socket:[")) {
                            String inode = link.substring(8, link.length() - 1);
                            if (netlink.contains(inode)) {
                                open.add(inode);
                            }
                        }
                    } catch (IOException gone) {
                        // closed meanwhile
                    }
                });
            }
            return open;
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }
}
