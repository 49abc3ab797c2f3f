package dev.devmem.ffm.emulated;

import dev.devmem.api.DmabufSource;
import dev.devmem.api.Errno;
import dev.devmem.ffm.rx.SocketEndpoint;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

import static dev.devmem.ffm.sys.LinuxConstants.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * SO_DEVMEM_DONTNEED and the other SO_DEVMEM_* options: the same assertions against this host's
 * kernel (a loopback TCP socket; CONFIG_NET_DEVMEM=y) and against the emulated NIC's socket.
 */
class DontneedContractTest {
    private final List<AutoCloseable> closeMe = new ArrayList<>();

    @AfterEach
    void tearDown() throws Exception {
        for (int i = closeMe.size() - 1; i >= 0; i--) {
            closeMe.get(i).close();
        }
    }

    private SocketEndpoint endpoint(String backend) throws Exception {
        Loopback wire = Loopback.open();
        closeMe.add(wire);
        SocketEndpoint e;
        if (backend.equals("kernel")) {
            e = new KernelEndpoint(wire.takeReceiver());
        } else {
            EmulatedNic nic = EmulatedNic.create(EmulatedNicConfig.defaults());
            closeMe.add(nic);
            closeMe.add(nic.bindRx(List.of(0), DmabufSource.emulated(1 << 16)));
            e = nic.attach(wire.takeReceiver(), 0);
        }
        closeMe.add(e);
        return e;
    }

    private static int dontneedRaw(SocketEndpoint e, MemorySegment value, int len) {
        return e.setsockopt(SOL_SOCKET, SO_DEVMEM_DONTNEED, value, len);
    }

    @ParameterizedTest
    @ValueSource(strings = {"kernel", "emulated"})
    void unknownTokensAreSkippedAndTheCountIsReturned(String backend) throws Exception {
        SocketEndpoint e = endpoint(backend);
        assertThat(Msg.dontneed(e, 1, 1)).isZero();
        assertThat(Msg.dontneed(e, 1, 100_000)).isZero();
        assertThat(Msg.dontneed(e, 0, 1)).isZero();
        assertThat(Msg.dontneed(e, -1, 5)).isZero(); // u32 start 0xFFFFFFFF, wrapping
        int[] ranges128 = new int[256];
        for (int i = 0; i < 128; i++) {
            ranges128[2 * i] = i + 1;
            ranges128[2 * i + 1] = 1;
        }
        assertThat(Msg.dontneed(e, ranges128)).isZero();
    }

    @ParameterizedTest
    @ValueSource(strings = {"kernel", "emulated"})
    void lengthsAndPointersAreCheckedInTheKernelsOrder(String backend) throws Exception {
        SocketEndpoint e = endpoint(backend);
        int einval = -Errno.EINVAL.number();
        int efault = -Errno.EFAULT.number();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(2048, 8);
            assertThat(dontneedRaw(e, v, 1032)).as("129 tokens").isEqualTo(einval);
            assertThat(dontneedRaw(e, v, 12)).as("len 12").isEqualTo(einval);
            assertThat(dontneedRaw(e, v, 4)).as("len 4").isEqualTo(einval);
            assertThat(dontneedRaw(e, v, 2)).as("len 2").isEqualTo(einval);
            assertThat(dontneedRaw(e, v, 0)).as("len 0").isEqualTo(einval);
            assertThat(dontneedRaw(e, v, -8)).as("len -8").isEqualTo(einval);
            assertThat(dontneedRaw(e, MemorySegment.NULL, 8)).as("NULL, len 8").isEqualTo(efault);
            // sk_setsockopt copies the first int before sock_devmem_dontneed checks the length
            assertThat(dontneedRaw(e, MemorySegment.NULL, 12)).as("NULL, len 12").isEqualTo(efault);
            assertThat(dontneedRaw(e, MemorySegment.NULL, 2000)).as("NULL, len 2000").isEqualTo(efault);
            assertThat(dontneedRaw(e, MemorySegment.NULL, 3)).as("NULL, len 3").isEqualTo(einval);
            assertThat(dontneedRaw(e, v, 1024)).as("128 zero tokens").isZero();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"kernel", "emulated"})
    void theOtherDevmemOptionsAreNotOptions(String backend) throws Exception {
        SocketEndpoint e = endpoint(backend);
        int enoprotoopt = -Errno.ENOPROTOOPT.number();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(64, 8);
            MemorySegment len = a.allocate(ValueLayout.JAVA_INT);
            for (int opt : new int[]{SO_DEVMEM_LINEAR, SO_DEVMEM_DMABUF, SO_DEVMEM_DONTNEED}) {
                len.set(ValueLayout.JAVA_INT, 0, 64);
                assertThat(e.getsockopt(SOL_SOCKET, opt, v, len)).as("getsockopt %d", opt).isEqualTo(enoprotoopt);
            }
            v.set(ValueLayout.JAVA_INT, 0, 1);
            assertThat(e.setsockopt(SOL_SOCKET, SO_DEVMEM_LINEAR, v, 4)).isEqualTo(enoprotoopt);
            assertThat(e.setsockopt(SOL_SOCKET, SO_DEVMEM_DMABUF, v, 4)).isEqualTo(enoprotoopt);
            // ordinary options reach the socket
            v.set(ValueLayout.JAVA_INT, 0, 7);
            assertThat(e.setsockopt(SOL_SOCKET, SO_RCVLOWAT, v, 4)).isZero();
            len.set(ValueLayout.JAVA_INT, 0, 4);
            v.set(ValueLayout.JAVA_INT, 0, 0);
            assertThat(e.getsockopt(SOL_SOCKET, SO_RCVLOWAT, v, len)).isZero();
            assertThat(v.get(ValueLayout.JAVA_INT, 0)).isEqualTo(7);
        }
    }

    /** Needs held tokens, which only the emulated NIC can produce here. */
    @Test
    void atMost1024TokenIdsAreInspectedPerCallExistingOrNot() throws Exception {
        EmulatedNicConfig cfg = EmulatedNicConfig.defaults().withFragSize(16).withMaxSkbSize(17 * 16);
        try (EmulatedNic nic = EmulatedNic.create(cfg);
             EmulatedRxBinding b = nic.bindRx(List.of(0), DmabufSource.emulated(2048 * 16));
             Loopback wire = Loopback.open();
             EmulatedEndpoint e = nic.attach(wire.takeReceiver(), 0);
             Msg m = new Msg(1 << 16, 1100 * 40)) {
            wire.send(new byte[1100 * 16]);
            wire.awaitQueued(1100 * 16);
            int frags = 0;
            while (frags < 1100) {
                long r = m.reset(1 << 16, 1100 * 40).recv(e, MSG_SOCK_DEVMEM | MSG_DONTWAIT);
                assertThat(r).isPositive();
                frags += m.cmsgs().size();
            }
            assertThat(e.tokensOutstanding()).isEqualTo(1100);
            assertThat(b.buffersHeld()).isEqualTo(1100);

            assertThat(Msg.dontneed(e, 1, 1100)).isEqualTo(1024);
            assertThat(Msg.dontneed(e, 1, 1100)).as("ids 1..1024 are gone but still inspected").isZero();
            assertThat(Msg.dontneed(e, 1, 1000, 1025, 76)).as("1000 + 24 inspected: the cap spans ranges").isEqualTo(24);
            assertThat(Msg.dontneed(e, 1049, 52)).isEqualTo(52);
            assertThat(e.tokensOutstanding()).isZero();
            assertThat(b.buffersHeld()).isZero();
            assertThat(b.buffersFree()).isEqualTo(2048);
        }
    }
}
