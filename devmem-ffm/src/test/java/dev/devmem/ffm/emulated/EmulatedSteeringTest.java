package dev.devmem.ffm.emulated;

import dev.devmem.api.DmabufSource;
import dev.devmem.ffm.sys.Structs;
import dev.devmem.ffm.sys.Syscalls;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static dev.devmem.ffm.sys.LinuxConstants.*;
import static org.assertj.core.api.Assertions.assertThat;

class EmulatedSteeringTest {

    private static long send(EmulatedEndpoint e, byte[] data) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocateFrom(ValueLayout.JAVA_BYTE, data);
            MemorySegment iov = a.allocate(Structs.IOVEC);
            iov.set(ValueLayout.ADDRESS, Structs.IOVEC_BASE, buf);
            iov.set(ValueLayout.JAVA_LONG, Structs.IOVEC_LEN, data.length);
            MemorySegment hdr = a.allocate(Structs.MSGHDR);
            hdr.set(ValueLayout.ADDRESS, Structs.MSGHDR_IOV, iov);
            hdr.set(ValueLayout.JAVA_LONG, Structs.MSGHDR_IOVLEN, 1);
            return e.sendmsg(hdr, MSG_NOSIGNAL);
        }
    }

    @Test
    void flowsAreSteeredByRuleAndOnlyTheBoundQueueGivesDevmem() throws Exception {
        AtomicInteger listeningPort = new AtomicInteger(-1);
        // like `ethtool -N ... dst-port P queue 2`: the server side of the flow goes to queue 2, the rest to 0
        FlowSteering rule = (local, remote, queues) -> local.getPort() == listeningPort.get() ? 2 : 0;
        EmulatedNicConfig cfg = EmulatedNicConfig.defaults().withFragSize(64).withMaxSkbSize(200).withFlowSteering(rule);
        try (EmulatedNic nic = EmulatedNic.create(cfg);
             EmulatedRxBinding b = nic.bindRx(List.of(2), DmabufSource.emulated(64 * 64));
             EmulatedListener listener = nic.listen(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 4)) {
            listeningPort.set(listener.localAddress().getPort());
            assertThat(listener.accept()).isNull();
            try (EmulatedEndpoint client = nic.connect(listener.localAddress())) {
                Loopback.awaitReadable(listener.fd());
                try (EmulatedEndpoint server = listener.accept(); Msg m = new Msg(1000, 1000)) {
                    assertThat(server.rxQueue()).isEqualTo(2);
                    assertThat(client.rxQueue()).isEqualTo(0);
                    assertThat(server.remoteAddress()).isEqualTo(client.localAddress());

                    assertThat(send(client, new byte[150])).isEqualTo(150);
                    Loopback.awaitQueued(server.fd(), 150);
                    assertThat(m.recv(server, MSG_SOCK_DEVMEM | MSG_DONTWAIT)).isEqualTo(150);
                    assertThat(m.cmsgs()).hasSize(3).allMatch(c -> c.dmabufId() == b.id());

                    assertThat(send(server, new byte[]{9, 8, 7})).isEqualTo(3);
                    Loopback.awaitQueued(client.fd(), 3);
                    assertThat(m.reset(1000, 1000).recv(client, MSG_SOCK_DEVMEM | MSG_DONTWAIT)).isEqualTo(3);
                    assertThat(m.controlLen()).as("queue 0 has no dmabuf: plain data").isZero();
                    assertThat(m.data.asSlice(0, 3).toArray(ValueLayout.JAVA_BYTE)).containsExactly(9, 8, 7);
                }
            }
        }
    }

    @Test
    void aBlockingSocketWaitsForTheNicLikeAKernelSocket() throws Exception {
        EmulatedNicConfig cfg = EmulatedNicConfig.defaults().withFragSize(64).withMaxSkbSize(200);
        try (EmulatedNic nic = EmulatedNic.create(cfg);
             EmulatedRxBinding b = nic.bindRx(List.of(0), DmabufSource.emulated(64 * 64));
             Loopback wire = Loopback.open();
             Msg m = new Msg(1000, 1000)) {
            int fd = wire.takeReceiver();
            int fl = Syscalls.fcntl(fd, F_GETFL, 0);
            Syscalls.check(Syscalls.fcntl(fd, F_SETFL, fl & ~O_NONBLOCK), "fcntl");
            try (EmulatedEndpoint e = nic.attach(fd, 0)) {
                CompletableFuture<Long> r = CompletableFuture.supplyAsync(() -> m.recv(e, MSG_SOCK_DEVMEM));
                wire.send(new byte[100]);
                assertThat(r.get(1, TimeUnit.MINUTES)).isPositive();
                assertThat(m.cmsgs()).isNotEmpty().allMatch(c -> c.dmabufId() == b.id());
            }
        }
    }
}
