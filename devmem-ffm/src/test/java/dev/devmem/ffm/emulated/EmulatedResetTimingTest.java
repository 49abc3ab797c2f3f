package dev.devmem.ffm.emulated;

import dev.devmem.api.DmabufSource;
import dev.devmem.api.Errno;
import dev.devmem.ffm.rx.SocketEndpoint;
import dev.devmem.ffm.sys.Structs;
import dev.devmem.ffm.sys.Syscalls;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

import static dev.devmem.ffm.sys.LinuxConstants.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * When a reset shows, call by call: the same sequence of recvmsg iov sizes over the kernel's own
 * socket (plain data) and over the emulated NIC's (DMABUF frags of 64 bytes in skbs of 200), with
 * all data and the reset queued before the first call. Each call must return the same count, and
 * the error must come in the same call: the kernel returns what a call copied when it meets
 * {@code sk_err} and fails the next call with ECONNRESET, once; after that, 0.
 */
class EmulatedResetTimingTest {
    private static final int ECONNRESET = -Errno.ECONNRESET.number();
    private static final int DATA = 300;
    private static final short POLLHUP = 0x10;

    @Test
    void smallReadsSeeTheResetInTheCallAfterTheLastByteAsTheKernelDoes() throws Exception {
        long[] reads = {100, 100, 100, 100, 100, 100};
        assertThat(emulated(reads)).isEqualTo(kernel(reads)).containsExactly(100L, 100L, 100L, (long) ECONNRESET, 0L, 0L);
    }

    @Test
    void aReadThatTakesEverythingReturnsItAndTheNextFailsAsTheKernelDoes() throws Exception {
        long[] reads = {1000, 1000, 1000};
        assertThat(emulated(reads)).isEqualTo(kernel(reads)).containsExactly((long) DATA, (long) ECONNRESET, 0L);
    }

    @Test
    void aReadEndingExactlyAtTheLastByteLeavesTheResetToTheNextCall() throws Exception {
        long[] reads = {250, 50, 7, 7};
        assertThat(emulated(reads)).isEqualTo(kernel(reads)).containsExactly(250L, 50L, (long) ECONNRESET, 0L);
    }

    private static List<Long> kernel(long[] reads) throws Exception {
        try (Loopback wire = Loopback.open()) {
            sendThenReset(wire);
            KernelEndpoint socket = new KernelEndpoint(wire.takeReceiver());
            try {
                return run(socket, reads);
            } finally {
                socket.close();
            }
        }
    }

    private static List<Long> emulated(long[] reads) throws Exception {
        try (EmulatedNic nic = EmulatedNic.create(EmulatedNicConfig.defaults().withFragSize(64).withMaxSkbSize(200));
             EmulatedRxBinding binding = nic.bindRx(List.of(0), DmabufSource.emulated(64L * 64));
             Loopback wire = Loopback.open()) {
            sendThenReset(wire);
            EmulatedEndpoint socket = nic.attach(wire.takeReceiver(), 0);
            try {
                List<Long> r = run(socket, reads);
                assertThat(socket.stats().dmabufBytes()).as("the emulated path: DMABUF frags").isEqualTo(DATA);
                return r;
            } finally {
                socket.close();
                assertThat(binding.buffersHeld()).isZero();
            }
        }
    }

    /** Every byte in the receiving kernel, then RST; returns once the receiver has seen the reset (POLLHUP). */
    private static void sendThenReset(Loopback wire) throws Exception {
        byte[] data = new byte[DATA];
        for (int i = 0; i < DATA; i++) {
            data[i] = (byte) (i * 13 + 1);
        }
        wire.send(data);
        wire.awaitQueued(DATA);
        wire.resetSender();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment pfd = a.allocate(Structs.POLLFD);
            pfd.set(ValueLayout.JAVA_INT, Structs.POLLFD_FD, wire.receiver);
            pfd.set(ValueLayout.JAVA_SHORT, Structs.POLLFD_EVENTS, POLLIN);
            while (true) {
                Syscalls.poll(pfd, 1, 1000);
                if ((pfd.get(ValueLayout.JAVA_SHORT, Structs.POLLFD_REVENTS) & POLLHUP) != 0) {
                    return;
                }
            }
        }
    }

    private static List<Long> run(SocketEndpoint socket, long[] reads) {
        List<Long> results = new ArrayList<>();
        try (Msg m = new Msg(1000, 40 * 32)) {
            for (long n : reads) {
                long r = m.reset(n, 40 * 32).recv(socket, MSG_SOCK_DEVMEM | MSG_DONTWAIT);
                results.add(r);
                if (r > 0) {
                    for (Msg.Cmsg c : m.cmsgs()) {
                        if (c.token() != 0) {
                            assertThat(Msg.dontneed(socket, c.token(), 1)).isEqualTo(1);
                        }
                    }
                }
            }
        }
        return results;
    }
}
