package dev.devmem.ffm.emulated;

import dev.devmem.api.DmabufSource;
import dev.devmem.api.Errno;
import dev.devmem.ffm.sys.Structs;
import dev.devmem.ffm.sys.Syscalls;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static dev.devmem.ffm.sys.LinuxConstants.*;
import static org.assertj.core.api.Assertions.assertThat;

/** Real TCP over loopback through the emulated NIC: integrity at volume, and pool starvation. */
class EmulatedDataPathTest {
    private static final int DEVMEM = MSG_SOCK_DEVMEM | MSG_DONTWAIT;

    /** Sends {@code total} bytes of the netcat pattern on a thread, then shuts down; counts progress. */
    private static CompletableFuture<Void> sendPattern(Loopback wire, long total, AtomicLong sent) {
        return CompletableFuture.runAsync(() -> {
            int chunk = 7 * 37449; // 262143: a whole number of pattern periods
            try (Arena a = Arena.ofConfined()) {
                MemorySegment buf = a.allocateFrom(ValueLayout.JAVA_BYTE, StreamChecker.patternBytes(chunk));
                long pos = 0;
                while (pos < total) {
                    long off = pos % chunk;
                    long n = Syscalls.send(wire.sender, buf.asSlice(off), Math.min(chunk - off, total - pos), MSG_NOSIGNAL);
                    if (n < 0) {
                        throw new IllegalStateException("send: " + Errno.of((int) -n));
                    }
                    pos += n;
                    sent.set(pos);
                }
                wire.shutdownSender();
            }
        });
    }

    private static boolean awaitReadable(int fd) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment pfd = a.allocate(Structs.POLLFD);
            pfd.set(ValueLayout.JAVA_INT, 0, fd);
            pfd.set(ValueLayout.JAVA_SHORT, 4, POLLIN);
            return Syscalls.poll(pfd, 1, 0) == 1;
        }
    }

    @Test
    void gibibytesOfTheNetcatPatternArriveIntactThroughASmallRecycledDmabuf() throws Exception {
        long total = Long.getLong("devmem.test.gib", 1) << 30;
        EmulatedNicConfig cfg = EmulatedNicConfig.defaults().withMaxSkbSize(65536)
                .withHeaderSplitFailures(0.02, 20251122).withHeaderBufferSize(256);
        int buffers = 64; // 256 KiB of "device memory", recycled many thousand times
        try (EmulatedNic nic = EmulatedNic.create(cfg);
             EmulatedRxBinding b = nic.bindRx(List.of(1), DmabufSource.emulated(buffers * 4096L));
             Loopback wire = Loopback.open();
             EmulatedEndpoint e = nic.attach(wire.takeReceiver(), 1);
             Msg m = new Msg(256 << 10, 256 * 40)) {
            AtomicLong sent = new AtomicLong();
            CompletableFuture<Void> sender = sendPattern(wire, total, sent);
            StreamChecker check = new StreamChecker(256 << 10);
            MemorySegment dmabuf = b.hostView().orElseThrow();
            long eagain = 0;
            while (true) {
                long r = m.reset(256 << 10, 256 * 40).recv(e, DEVMEM);
                if (r == 0) {
                    break;
                }
                if (r == -Errno.EAGAIN.number()) {
                    eagain++;
                    Loopback.awaitReadable(e.pollFd());
                    continue;
                }
                assertThat(r).as("recvmsg").isPositive();
                check.consume(m, r, dmabuf, e, true);
            }
            sender.get(1, TimeUnit.MINUTES);

            EmulatedNicStats s = nic.stats();
            assertThat(check.position).isEqualTo(total);
            assertThat(check.dmabufBytes + check.linearBytes + check.plainBytes).isEqualTo(total);
            assertThat(s.headerSplitFailures()).as("injected faults fired").isPositive();
            assertThat(check.linearBytes).isEqualTo(s.linearBytes()).isPositive();
            assertThat(check.dmabufBytes).isEqualTo(s.dmabufBytes());
            assertThat(s.dmabufFrags()).as("buffers recycled thousands of times").isGreaterThan(1000L * buffers);
            assertThat(e.tokensOutstanding()).isZero();
            assertThat(s.tokensOutstanding()).isZero();
            assertThat(b.buffersHeld()).isZero();
            assertThat(b.buffersFree()).isEqualTo(buffers);
            System.out.printf("emulated NIC integrity: %d bytes, %d skbs, %d DMABUF frags, %d LINEAR frags,"
                            + " %d split failures, %d stalls, %d EAGAINs%n", total, s.skbs(), s.dmabufFrags(),
                    s.linearFrags(), s.headerSplitFailures(), s.stalls(), eagain);
        }
    }

    @Test
    void withReleasesWithheldTheNicStopsAtExactlyThePoolSizeAndResumesWhenTokensComeBack() throws Exception {
        long total = 4 << 20;
        int buffers = 16;
        EmulatedNicConfig cfg = EmulatedNicConfig.defaults().withMaxSkbSize(16384);
        try (EmulatedNic nic = EmulatedNic.create(cfg);
             EmulatedRxBinding b = nic.bindRx(List.of(0), DmabufSource.emulated(buffers * 4096L));
             Loopback wire = Loopback.open(32 << 10, 32 << 10);
             EmulatedEndpoint e = nic.attach(wire.takeReceiver(), 0);
             Msg m = new Msg(64 << 10, 64 * 40)) {
            AtomicLong sent = new AtomicLong();
            CompletableFuture<Void> sender = sendPattern(wire, total, sent);
            StreamChecker check = new StreamChecker(64 << 10);
            MemorySegment dmabuf = b.hostView().orElseThrow();
            Map<Long, List<Integer>> tokensByBuffer = new HashMap<>();

            // receive without returning a single token until the NIC stalls
            while (true) {
                long r = m.reset(64 << 10, 64 * 40).recv(e, DEVMEM);
                if (r == -Errno.EAGAIN.number()) {
                    if (e.pollFd() != e.fd()) {
                        break; // stalled on the pool, not waiting for the wire
                    }
                    Loopback.awaitReadable(e.pollFd());
                    continue;
                }
                assertThat(r).isPositive();
                for (Msg.Cmsg c : m.cmsgs()) {
                    tokensByBuffer.computeIfAbsent(c.fragOffset() / 4096, k -> new ArrayList<>()).add(c.token());
                }
                check.consume(m, r, dmabuf, e, false);
            }
            assertThat(b.buffersFree()).isZero();
            assertThat(b.buffersHeld()).isEqualTo(buffers);
            assertThat(tokensByBuffer).as("every buffer of the pool is pinned by a token").hasSize(buffers);
            assertThat(check.position).isLessThanOrEqualTo(buffers * 4096L);
            assertThat(e.stats().stalls()).isPositive();
            assertThat(sent.get()).as("TCP pushed back on the sender").isLessThan(total);
            int eventFd = e.pollFd();
            assertThat(awaitReadable(eventFd)).isFalse();
            long stalls = e.stats().stalls();
            assertThat(m.reset(64 << 10, 64 * 40).recv(e, DEVMEM)).isEqualTo(-Errno.EAGAIN.number());
            assertThat(e.stats().stalls()).isEqualTo(stalls + 1);
            assertThat(b.stalls()).isEqualTo(e.stats().stalls());

            // returning the tokens of one buffer wakes a loop parked on the pool
            List<Integer> first = tokensByBuffer.values().iterator().next();
            for (int t : first) {
                assertThat(Msg.dontneed(e, t, 1)).isEqualTo(1);
            }
            assertThat(awaitReadable(eventFd)).isTrue();
            assertThat(b.buffersFree()).isEqualTo(1);
            for (List<Integer> ts : tokensByBuffer.values()) {
                for (int t : ts) {
                    Msg.dontneed(e, t, 1);
                }
            }
            assertThat(e.tokensOutstanding()).isZero();

            // and the rest of the stream arrives, nothing lost
            while (true) {
                long r = m.reset(64 << 10, 64 * 40).recv(e, DEVMEM);
                if (r == 0) {
                    break;
                }
                if (r == -Errno.EAGAIN.number()) {
                    Loopback.awaitReadable(e.pollFd());
                    continue;
                }
                assertThat(r).isPositive();
                check.consume(m, r, dmabuf, e, true);
            }
            sender.get(1, TimeUnit.MINUTES);
            assertThat(check.position).isEqualTo(total);
            assertThat(e.tokensOutstanding()).isZero();
            assertThat(b.buffersHeld()).isZero();
        }
    }

    @Test
    void aSyntheticStreamObeysThePoolAndTokenRulesWithoutASocket() throws Exception {
        EmulatedNicConfig cfg = EmulatedNicConfig.defaults().withHeaderSplitFailures(0.1, 3);
        try (EmulatedNic nic = EmulatedNic.create(cfg);
             EmulatedRxBinding b = nic.bindRx(List.of(2), DmabufSource.emulated(8 * 4096));
             EmulatedEndpoint e = nic.synthetic(2, SyntheticStream.pattern(1_000_000));
             Msg m = new Msg(1 << 20, 64 * 40)) {
            StreamChecker check = new StreamChecker(1 << 20);
            MemorySegment dmabuf = b.hostView().orElseThrow();
            while (true) {
                long r = m.reset(1 << 20, 64 * 40).recv(e, DEVMEM);
                if (r == -Errno.EAGAIN.number()) {
                    break;
                }
                check.consume(m, r, dmabuf, e, false);
            }
            assertThat(b.buffersFree()).isZero();
            assertThat(b.buffersHeld()).isEqualTo(8);
            assertThat(e.pollFd()).as("parks on the pool's eventfd").isNotNegative();
            // the call that emptied the pool met it empty once (and returned its data), the next got EAGAIN
            assertThat(e.stats().stalls()).isEqualTo(2).isEqualTo(b.stalls());
            Msg.dontneed(e, 1, e.tokensOutstanding() + 64);
            assertThat(awaitReadable(e.pollFd())).isTrue();
            while (true) {
                long r = m.reset(1 << 20, 64 * 40).recv(e, DEVMEM);
                if (r == 0) {
                    break;
                }
                assertThat(r).isPositive();
                check.consume(m, r, dmabuf, e, true);
            }
            assertThat(check.position).isEqualTo(1_000_000);
            assertThat(check.linearBytes).isPositive();
            assertThat(e.stats().headerSplitFailures()).isPositive();
            assertThat(e.tokensOutstanding()).isZero();
        }
    }

    @Test
    void anEndlessSyntheticStreamKeepsIssuingFragsAsLongAsTheCallerReturnsTokens() throws Exception {
        try (EmulatedNic nic = EmulatedNic.create(EmulatedNicConfig.defaults());
             EmulatedRxBinding b = nic.bindRx(List.of(0), DmabufSource.emulated(256 * 4096));
             EmulatedEndpoint e = nic.synthetic(0, SyntheticStream.endless());
             Msg m = new Msg(1 << 20, 256 * 40)) {
            long frags = 0;
            long bytes = 0;
            long t0 = System.nanoTime();
            while (frags < 200_000) {
                long r = m.reset(1 << 20, 256 * 40).recv(e, DEVMEM);
                assertThat(r).isPositive();
                List<Msg.Cmsg> cs = m.cmsgs();
                assertThat(cs).allMatch(c -> c.type() == SCM_DEVMEM_DMABUF && c.fragSize() == 4096);
                assertThat(Msg.dontneed(e, cs.getFirst().token(), cs.size())).isEqualTo(cs.size());
                frags += cs.size();
                bytes += r;
            }
            double s = (System.nanoTime() - t0) / 1e9;
            assertThat(e.tokensOutstanding()).isZero();
            assertThat(e.stats().tokensIssued()).isEqualTo(frags);
            assertThat(b.buffersFree()).isEqualTo(256);
            System.out.printf("synthetic: %d frags, %.1f GiB/s of cmsgs (%.2f Mfrags/s)%n", frags,
                    bytes / s / (1 << 30), frags / s / 1e6);
        }
    }
}
