package dev.devmem.ffm.tx;

import dev.devmem.api.DevmemException;
import dev.devmem.api.DevmemProtocolException;
import dev.devmem.api.Errno;
import dev.devmem.api.SyscallException;
import dev.devmem.api.spi.TxBinding;
import dev.devmem.api.spi.TxStats;
import dev.devmem.ffm.linux.LinuxSocketEndpoint;
import dev.devmem.ffm.rx.PollIoWaiter;
import dev.devmem.ffm.sys.LinuxConstants;
import dev.devmem.ffm.testing.NetcatPattern;
import dev.devmem.ffm.testing.TxWire;
import dev.devmem.api.spi.Pollable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The TX engine against the real kernel: MSG_ZEROCOPY sends of host memory (binding id 0, what the
 * kernel does when the cmsg names no binding) over loopback produce real completion notifications,
 * and the same parser and ledger that serve devmem handle them: merged ranges, the COPIED code,
 * short sends, sends that fail and spend no number, a reset connection.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class KernelZerocopyTest {
    private static final long WAIT_NANOS = TimeUnit.SECONDS.toNanos(10);
    private final Arena arena = Arena.ofShared();
    private final List<AutoCloseable> closeables = new ArrayList<>();

    record Done(long tag, long bytes, boolean copied) {
    }

    /** A TX binding the kernel has never heard of: its id reaches the kernel's lookup. */
    record UnknownBinding(int id) implements TxBinding {
        @Override
        public String interfaceName() {
            return "lo";
        }

        @Override
        public int ifindex() {
            return 1;
        }

        @Override
        public long dmabufSize() {
            return 1 << 20;
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
    }

    @AfterEach
    void closeAll() throws Exception {
        for (int i = closeables.size() - 1; i >= 0; i--) {
            closeables.get(i).close();
        }
        arena.close();
    }

    private <T extends AutoCloseable> T track(T t) {
        closeables.add(t);
        return t;
    }

    private DevmemTxSocketImpl socket(TxWire wire) throws Exception {
        return track(new DevmemTxSocketImpl(new LinuxSocketEndpoint(wire.takeSender())));
    }

    private MemorySegment pattern(long size) {
        MemorySegment m = arena.allocate(size, 4096);
        NetcatPattern.kernelDoc().fill(m, 0);
        return m;
    }

    /** Polls completions until {@code count} sends were reported or the bound passes. */
    private static List<Done> awaitCompletions(DevmemTxSocketImpl s, int count) throws DevmemException {
        List<Done> out = new ArrayList<>();
        long deadline = System.nanoTime() + WAIT_NANOS;
        while (out.size() < count && System.nanoTime() < deadline) {
            s.pollCompletions((tag, bytes, copied) -> out.add(new Done(tag, bytes, copied)));
            if (out.size() < count) {
                TxWire.await(s.pollFd(), (short) 0, 100);
            }
        }
        return out;
    }

    @Test
    void threeSendsCompleteThroughOneMergedCopiedNotice() throws Exception {
        for (TxWire wire : List.of(TxWire.v4(), TxWire.v6(), TxWire.v4Mapped())) {
            track(wire);
            DevmemTxSocketImpl s = socket(wire);
            MemorySegment data = pattern(3000);
            for (int i = 0; i < 3; i++) {
                assertThat(s.sendHost(data, i * 1000L, 1000, 100 + i)).isEqualTo(1000);
            }
            assertThat(s.outstandingSends()).isEqualTo(3);
            assertThat(s.outstandingBytes()).isEqualTo(3000);
            assertThat(wire.readExactly(3000)).isEqualTo(data.toArray(ValueLayout.JAVA_BYTE));
            List<Done> done = awaitCompletions(s, 3);
            assertThat(done).containsExactly(new Done(100, 1000, true), new Done(101, 1000, true),
                    new Done(102, 1000, true));
            TxStats st = s.stats();
            assertThat(st.notices()).as("the kernel merged [0], [1], [2] into one notice [0, 2]").isEqualTo(1);
            assertThat(st.sends()).isEqualTo(3);
            assertThat(st.completedSends()).isEqualTo(3);
            assertThat(st.completedBytes()).isEqualTo(3000);
            assertThat(st.copiedSends()).as("loopback copies").isEqualTo(3);
            assertThat(st.outstandingSends()).isZero();
            assertThat(st.outstandingBytes()).isZero();
            assertThat(s.nextSendNumber()).isEqualTo(3);
        }
    }

    @Test
    void aRefusedDevmemSendSpendsNoNumberAndIsExplained() throws Exception {
        TxWire wire = track(TxWire.v4());
        DevmemTxSocketImpl s = socket(wire);
        assertThatThrownBy(() -> s.send(new UnknownBinding(0xFFFF_FFF0), 0, 4096, 1))
                .isInstanceOfSatisfying(SyscallException.class, e -> {
                    assertThat(e.operation()).isEqualTo("sendmsg(MSG_ZEROCOPY, SCM_DEVMEM_DMABUF)");
                    assertThat(e.errno()).isEqualTo(Errno.EINVAL);
                    assertThat(e.explanation()).contains("knows no TX binding 4294967280");
                });
        assertThat(s.outstandingSends()).isZero();
        MemorySegment data = pattern(100);
        assertThat(s.sendHost(data, 0, 100, 7)).isEqualTo(100);
        wire.readExactly(100);
        // had the refused send been recorded, the kernel's [0, 0] would complete it, not tag 7
        assertThat(awaitCompletions(s, 1)).containsExactly(new Done(7, 100, true));
        assertThat(s.stats().sends()).isEqualTo(1);
    }

    @Test
    void aFullSocketTakesAPrefixThenNothingAndEveryByteCompletesOnce() throws Exception {
        TxWire wire = track(TxWire.open(InetAddress.getByName("127.0.0.1"), InetAddress.getByName("127.0.0.1"),
                64 << 10, 64 << 10));
        DevmemTxSocketImpl s = socket(wire);
        long total = 32L << 20;
        int chunk = 1 << 20;
        // 7 MiB: a whole number of pattern periods, so region offset o holds the stream's byte at o mod 7
        MemorySegment data = pattern(7L << 20); // reused for the stream only after its sends complete
        PollIoWaiter waiter = track(new PollIoWaiter());
        NetcatPattern p = NetcatPattern.kernelDoc();

        CompletableFuture<Long> reader = CompletableFuture.supplyAsync(() -> {
            try (Arena a = Arena.ofConfined()) {
                MemorySegment buf = a.allocate(1 << 20);
                long got = 0;
                while (true) {
                    long r = wire.read(buf, buf.byteSize());
                    if (r == 0) {
                        return got;
                    }
                    p.verify(buf.asSlice(0, r), got);
                    got += r;
                }
            } catch (SyscallException e) {
                throw new IllegalStateException(e);
            }
        });

        long pos = 0;
        long completedBytes = 0;
        long[] completedBytesRef = new long[1];
        int partial = 0;
        int zero = 0;
        long sendsBefore;
        long lastProgress = System.nanoTime();
        long lastCompleted = -1;
        while (completedBytes < total) {
            if (completedBytes != lastCompleted) {
                lastCompleted = completedBytes;
                lastProgress = System.nanoTime();
            }
            if (reader.isCompletedExceptionally()) {
                reader.join(); // throws the reader's failure
            }
            assertThat(System.nanoTime() - lastProgress).as("no completion for 30 s: sent %d, completed %d, %s, %s",
                    pos, completedBytes, s.stats(), s).isLessThan(TimeUnit.SECONDS.toNanos(30));
            if (pos < total && pos - completedBytes + chunk <= data.byteSize()) {
                long off = pos % data.byteSize();
                long len = Math.min(chunk, Math.min(total - pos, data.byteSize() - off));
                long r = s.sendHost(data, off, len, pos);
                if (r == 0) {
                    zero++;
                    assertThat(s.pollEvents()).isEqualTo(LinuxConstants.POLLOUT);
                } else if (r < len) {
                    partial++;
                }
                pos += r;
                if (r == len) {
                    continue;
                }
            }
            sendsBefore = s.stats().completedSends();
            s.pollCompletions((tag, bytes, copied) -> completedBytesRef[0] += bytes);
            completedBytes = completedBytesRef[0];
            if (s.stats().completedSends() == sendsBefore && completedBytes < total) {
                waiter.await(new Pollable[]{s}, 1, TimeUnit.MILLISECONDS.toNanos(200));
            }
        }
        s.shutdownOutput();
        assertThat(reader.get(60, TimeUnit.SECONDS)).isEqualTo(total);
        TxStats st = s.stats();
        assertThat(partial + zero).as("the 64 KiB buffers filled").isPositive();
        assertThat(st.bytesSent()).isEqualTo(total);
        assertThat(st.completedBytes()).isEqualTo(total);
        assertThat(st.completedSends()).isEqualTo(st.sends());
        assertThat(st.partialSends()).isEqualTo(partial);
        assertThat(st.wouldBlock()).isEqualTo(zero);
        assertThat(st.outstandingSends()).isZero();
        assertThat(st.notices()).isBetween(1L, st.sends());
        assertThat(s.nextSendNumber()).isEqualTo((int) st.sends());
    }

    @Test
    void aResetConnectionSurfacesFromPollCompletionsAndBreaksTheSocket() throws Exception {
        TxWire wire = track(TxWire.v4());
        DevmemTxSocketImpl s = socket(wire);
        MemorySegment data = pattern(100);
        s.sendHost(data, 0, 100, 1);
        wire.readExactly(100);
        assertThat(awaitCompletions(s, 1)).hasSize(1);
        wire.resetReader();
        int revents = TxWire.await(s.pollFd(), (short) 0, 10_000);
        assertThat(revents & LinuxConstants.POLLERR).as("a reset raises POLLERR even with no events asked").isNotZero();
        assertThatThrownBy(() -> s.pollCompletions((t, b, c) -> {
        })).isInstanceOfSatisfying(SyscallException.class, e -> assertThat(e.errno()).isEqualTo(Errno.ECONNRESET));
        assertThatThrownBy(() -> s.sendHost(data, 0, 100, 2)).isInstanceOfSatisfying(SyscallException.class,
                e -> assertThat(e.getMessage()).contains("failed earlier").contains("ECONNRESET"));
    }

    @Test
    void hostRangesAreCheckedBeforeTheKernelSeesThem() throws Exception {
        TxWire wire = track(TxWire.v4());
        DevmemTxSocketImpl s = socket(wire);
        MemorySegment data = pattern(4096);
        assertThatThrownBy(() -> s.sendHost(data, 4000, 200, 1)).isInstanceOfSatisfying(SyscallException.class,
                e -> assertThat(e.errno()).isEqualTo(Errno.EFAULT));
        assertThatThrownBy(() -> s.sendHost(data, -1, 10, 1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> s.sendHost(data, 0, 0, 1)).isInstanceOf(IllegalArgumentException.class);
        assertThat(s.stats().sends()).isZero();
    }

    @Test
    void aClosedSocketRefusesAndReportsNothing() throws Exception {
        TxWire wire = track(TxWire.v4());
        DevmemTxSocketImpl s = socket(wire);
        s.sendHost(pattern(10), 0, 10, 1);
        s.close();
        s.close();
        assertThat(s.outstandingSends()).isZero();
        assertThat(s.pollFd()).isEqualTo(-1);
        assertThatThrownBy(() -> s.pollCompletions((t, b, c) -> {
        })).isInstanceOfSatisfying(SyscallException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EBADF));
    }

    @Test
    void aForeignNoticeBreaksTheSocketInsteadOfCompletingTheWrongSend() throws Exception {
        TxWire wire = track(TxWire.v4());
        DevmemTxSocketImpl s = socket(wire);
        // a zerocopy send behind the engine's back: the kernel will complete a number the ledger never gave out
        try (Arena a = Arena.ofConfined()) {
            MemorySegment d = a.allocate(10);
            var m = new dev.devmem.ffm.testing.TxMsg(a).single(d.address(), 10);
            assertThat(dev.devmem.ffm.sys.Syscalls.sendmsg(wire.sender(), m.msghdr(), LinuxConstants.MSG_ZEROCOPY))
                    .isEqualTo(10);
        }
        wire.readExactly(10);
        TxWire.await(s.pollFd(), (short) 0, 10_000);
        assertThatThrownBy(() -> s.pollCompletions((t, b, c) -> {
        })).isInstanceOf(DevmemProtocolException.class).hasMessageContaining("not outstanding");
    }
}
