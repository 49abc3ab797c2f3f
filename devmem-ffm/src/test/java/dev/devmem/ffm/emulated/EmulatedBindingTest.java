package dev.devmem.ffm.emulated;

import dev.devmem.api.DevmemUnsupportedException;
import dev.devmem.api.DmabufSource;
import dev.devmem.api.Errno;
import dev.devmem.api.NetlinkException;
import dev.devmem.api.RxBindingSpec;
import dev.devmem.ffm.sys.Syscalls;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

import static dev.devmem.ffm.sys.LinuxConstants.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class EmulatedBindingTest {

    @Test
    void bindRxFollowsTheKernelsChecksAndItsCyclicIds() throws Exception {
        try (EmulatedNic nic = EmulatedNic.create(EmulatedNicConfig.defaults())) {
            EmulatedRxBinding b1 = nic.bindRx(new RxBindingSpec("emu0", List.of(0), DmabufSource.emulated(1 << 16)));
            EmulatedRxBinding b2 = nic.bindRx(List.of(1, 2, 2), DmabufSource.emulated(1 << 16));
            assertThat(b1.id()).isPositive();
            assertThat(b2.id()).isEqualTo(b1.id() + 1);
            assertThat(b2.rxQueues()).containsExactly(1, 2); // duplicates merge
            assertThat(nic.queueDmabuf(0)).isEqualTo(b1.id());
            assertThat(nic.queueDmabuf(2)).isEqualTo(b2.id());
            assertThat(nic.queueDmabuf(3)).isZero();

            assertThatThrownBy(() -> nic.bindRx(List.of(3, 0), DmabufSource.emulated(1 << 16)))
                    .isInstanceOfSatisfying(NetlinkException.class, e -> {
                        assertThat(e.errno()).isEqualTo(Errno.EEXIST);
                        assertThat(e.extackMessage()).contains("designated queue already memory provider bound");
                        assertThat(e.operation()).isEqualTo("netdev bind-rx");
                    });
            assertThat(nic.queueDmabuf(3)).as("the failed binding is undone whole").isZero();
            assertThatThrownBy(() -> nic.bindRx(List.of(4), DmabufSource.emulated(1 << 16)))
                    .isInstanceOfSatisfying(NetlinkException.class, e -> {
                        assertThat(e.errno()).isEqualTo(Errno.EINVAL);
                        assertThat(e.offendingAttribute()).contains("dmabuf.queues.id");
                    });
            assertThatThrownBy(() -> nic.bindRx(new RxBindingSpec("eth9", List.of(3), DmabufSource.emulated(4096))))
                    .isInstanceOfSatisfying(NetlinkException.class, e -> assertThat(e.errno()).isEqualTo(Errno.ENODEV));
            assertThatThrownBy(() -> nic.bindRx(List.of(3), DmabufSource.dmaHeap("system", 4096)))
                    .isInstanceOf(DevmemUnsupportedException.class);

            // the EEXIST attempt took an id from the cyclic allocator before it was undone
            EmulatedRxBinding b3 = nic.bindRx(List.of(3), DmabufSource.udmabuf(1 << 16));
            assertThat(b3.id()).isEqualTo(b2.id() + 2);

            b1.close();
            assertThat(nic.queueDmabuf(0)).isZero();
            assertThat(b1.isOpen()).isFalse();
            assertThat(b1.isMemoryReleased()).isTrue(); // nothing held
            assertThat(BindingIds.inUse(b1.id())).isFalse();
            EmulatedRxBinding again = nic.bindRx(List.of(0), DmabufSource.emulated(1 << 16));
            assertThat(again.id()).isEqualTo(b3.id() + 1);
        }
    }

    @Test
    void aCallersMemfdIsMappedButNotClosed() throws Exception {
        int fd = Syscalls.check(Syscalls.memfdCreate("user-dmabuf", MFD_CLOEXEC), "memfd_create");
        try (EmulatedNic nic = EmulatedNic.create(EmulatedNicConfig.defaults())) {
            Syscalls.check(Syscalls.ftruncate(fd, 1 << 16), "ftruncate");
            EmulatedRxBinding b = nic.bindRx(List.of(0), DmabufSource.ofFd(fd, 1 << 16));
            assertThat(b.memfd()).isEqualTo(fd);
            assertThat(b.bufferCount()).isEqualTo(16);
            b.close();
            assertThat(b.isMemoryReleased()).isTrue();
            assertThat(Syscalls.fcntl(fd, F_GETFL, 0)).isNotNegative();
        } finally {
            Syscalls.close(fd);
        }
    }

    @Test
    void unbindingKeepsHeldFragsValidUntilTheLastTokenComesBack() throws Exception {
        EmulatedNicConfig cfg = EmulatedNicConfig.defaults().withFragSize(64).withMaxSkbSize(200);
        try (EmulatedNic nic = EmulatedNic.create(cfg);
             Loopback wire = Loopback.open();
             Msg m = new Msg(1000, 1000)) {
            EmulatedRxBinding b = nic.bindRx(List.of(0), DmabufSource.emulated(64 * 64));
            EmulatedEndpoint e = nic.attach(wire.takeReceiver(), 0);
            byte[] sent = new byte[200];
            for (int i = 0; i < sent.length; i++) {
                sent[i] = (byte) (i ^ 0x5A);
            }
            wire.send(sent);
            wire.awaitQueued(200);
            assertThat(m.recv(e, MSG_SOCK_DEVMEM | MSG_DONTWAIT)).isEqualTo(200);
            MemorySegment view = b.hostView().orElseThrow();

            b.close();
            assertThat(nic.queueDmabuf(0)).as("queue-get shows no dmabuf").isZero();
            assertThat(b.isMemoryReleased()).isFalse();
            assertThat(nic.liveBindings()).containsExactly(b);
            assertThat(b.buffersHeld()).isEqualTo(4);
            assertThat(view.asSlice(0, 64).toArray(ValueLayout.JAVA_BYTE))
                    .as("frags the application holds stay readable").isEqualTo(java.util.Arrays.copyOf(sent, 64));

            // new data on the queue is plain now: the queue restarted without a memory provider
            wire.send(new byte[]{1, 2, 3});
            wire.awaitQueued(3);
            assertThat(m.reset(1000, 1000).recv(e, MSG_SOCK_DEVMEM | MSG_DONTWAIT)).isEqualTo(3);
            assertThat(m.controlLen()).isZero();

            assertThat(Msg.dontneed(e, 1, 3)).isEqualTo(3);
            assertThat(b.isMemoryReleased()).isFalse();
            assertThat(Msg.dontneed(e, 4, 1)).isEqualTo(1);
            assertThat(b.isMemoryReleased()).isTrue();
            assertThat(nic.liveBindings()).isEmpty();
            assertThatThrownBy(() -> view.get(ValueLayout.JAVA_BYTE, 0)).isInstanceOf(IllegalStateException.class);
            e.close();
        }
    }

    @Test
    void closingTheSocketReturnsItsFragsAndLetsAnUnboundDmabufGo() throws Exception {
        EmulatedNicConfig cfg = EmulatedNicConfig.defaults().withFragSize(64).withMaxSkbSize(200);
        try (EmulatedNic nic = EmulatedNic.create(cfg);
             Loopback wire = Loopback.open();
             Msg m = new Msg(100, 1000)) {
            EmulatedRxBinding b = nic.bindRx(List.of(0), DmabufSource.emulated(64 * 64));
            EmulatedEndpoint e = nic.attach(wire.takeReceiver(), 0);
            wire.send(new byte[400]);
            wire.awaitQueued(400);
            assertThat(m.recv(e, MSG_SOCK_DEVMEM | MSG_DONTWAIT)).isEqualTo(100); // more skbs stay queued
            b.close();
            assertThat(b.isMemoryReleased()).isFalse();
            e.close();
            assertThat(b.buffersHeld()).isZero();
            assertThat(b.isMemoryReleased()).isTrue();
            assertThat(nic.stats().tokensOutstanding()).isZero();
        }
    }
}
