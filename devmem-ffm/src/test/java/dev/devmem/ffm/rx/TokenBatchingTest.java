package dev.devmem.ffm.rx;

import dev.devmem.ffm.RxSocketOptions;
import dev.devmem.api.Errno;
import dev.devmem.api.FragKind;
import dev.devmem.api.SyscallException;
import dev.devmem.api.spi.ReceiveBatch;
import dev.devmem.api.spi.SocketStats;
import dev.devmem.ffm.linux.LinuxSocketEndpoint;
import dev.devmem.ffm.sys.LinuxConstants;
import dev.devmem.ffm.sys.Syscalls;
import dev.devmem.ffm.testing.LoopbackPair;
import dev.devmem.ffm.testing.RecordingEndpoint;
import dev.devmem.ffm.testing.RecordingEndpoint.DontneedCall;
import dev.devmem.ffm.testing.RecordingEndpoint.Range;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * How released tokens go back: the exact {@code SO_DEVMEM_DONTNEED} calls, recorded on their way to
 * the REAL kernel, which answers every one (0 here: it never issued these tokens, since recvmsg is
 * scripted; loopback has no devmem NIC).
 */
class TokenBatchingTest {
    private LoopbackPair pair;
    private RecordingEndpoint endpoint;
    private DevmemSocketImpl socket;
    private final ReceiveBatch batch = new ReceiveBatch(1024);

    @BeforeEach
    void open() throws Exception {
        pair = LoopbackPair.open();
        endpoint = new RecordingEndpoint(pair.receiver());
        socket = new DevmemSocketImpl(endpoint, RxSocketOptions.defaults());
    }

    @AfterEach
    void close() {
        socket.close();
        pair.close();
    }

    /** Has the "kernel" issue these tokens, 1000 cmsgs per recvmsg, and checks they arrived. */
    private void issue(int... tokens) throws Exception {
        for (int from = 0; from < tokens.length; from += 1000) {
            List<RecordingEndpoint.Frag> frags = new ArrayList<>();
            for (int i = from; i < Math.min(tokens.length, from + 1000); i++) {
                frags.add(new RecordingEndpoint.Dmabuf(1, 4096L * i, 1, tokens[i]));
            }
            endpoint.frags(frags.toArray(RecordingEndpoint.Frag[]::new));
            assertThat(socket.receive(batch)).isEqualTo(frags.size());
        }
        assertThat(socket.outstanding()).isEqualTo(tokens.length);
    }

    private void release(int... tokens) throws Exception {
        for (int t : tokens) {
            socket.release(FragKind.DMABUF, t);
        }
    }

    private static int[] range(int fromInclusive, int toInclusive) {
        return IntStream.rangeClosed(fromInclusive, toInclusive).toArray();
    }

    private void assertKernelAnsweredEveryCall() {
        assertThat(endpoint.dontneedCalls()).allSatisfy(c -> {
            assertThat(c.result()).as("kernel answer").isZero();
            assertThat(c.optlen()).isEqualTo(8 * c.ranges().size());
            assertThat(c.ranges().size()).isBetween(1, LinuxConstants.DONTNEED_MAX_RANGES);
            assertThat(c.frags()).isBetween(1, LinuxConstants.DONTNEED_MAX_FRAGS);
        });
    }

    private void assertLedgerEmpty(long tokensSent) {
        assertThat(socket.outstanding()).isZero();
        assertThat(socket.pendingReleases()).isZero();
        SocketStats st = socket.stats();
        assertThat(st.tokensOutstanding()).isZero();
        assertThat(st.dontneedCalls()).isEqualTo(endpoint.dontneedCalls().size());
        assertThat(st.tokensReturned()).isZero();
        assertThat(st.dontneedShortfall()).as("kernel freed none of them").isEqualTo(tokensSent);
    }

    @Test
    void consecutiveTokensCoalesceIntoOneRange() throws Exception {
        issue(range(1, 10));
        release(10, 9, 8, 7, 6, 5, 4, 3, 2, 1);
        assertThat(endpoint.dontneedCalls()).isEmpty();
        assertThat(socket.pendingReleases()).isEqualTo(10);
        assertThat(socket.flushReleases()).isEqualTo(1);
        assertThat(endpoint.dontneedCalls()).containsExactly(new DontneedCall(8, List.of(new Range(1, 10)), 0));
        assertThat(socket.flushReleases()).isZero();
        assertLedgerEmpty(10);
    }

    @Test
    void onlyTrulyConsecutiveTokensShareARange() throws Exception {
        issue(1, 2, 3, 5, 7, 8, 100, 2_147_483_646, 2_147_483_647);
        release(8, 2_147_483_647, 1, 5, 3, 100, 7, 2, 2_147_483_646);
        socket.flushReleases();
        assertThat(endpoint.dontneedCalls()).singleElement().satisfies(c -> assertThat(c.ranges()).containsExactly(
                new Range(1, 3), new Range(5, 1), new Range(7, 2), new Range(100, 1), new Range(2_147_483_646, 2)));
        assertKernelAnsweredEveryCall();
        assertLedgerEmpty(9);
    }

    @Test
    void a1024ScatteredTokensFlushItselfAsEightCallsOf128Ranges() throws Exception {
        int[] odd = IntStream.range(0, 1024).map(i -> 1 + 2 * i).toArray();
        issue(odd);
        List<Integer> order = new ArrayList<>();
        for (int t : odd) {
            order.add(t);
        }
        Collections.shuffle(order, new Random(7));
        for (int i = 0; i < order.size(); i++) {
            socket.release(FragKind.DMABUF, order.get(i));
            if (i < order.size() - 1) {
                assertThat(endpoint.dontneedCalls()).as("no call before 1024 are pending").isEmpty();
            }
        }
        // The 1024th release flushed by itself.
        List<DontneedCall> calls = endpoint.dontneedCalls();
        assertThat(calls).hasSize(8);
        for (int c = 0; c < 8; c++) {
            DontneedCall call = calls.get(c);
            assertThat(call.optlen()).isEqualTo(1024);
            assertThat(call.ranges()).hasSize(128);
            for (int r = 0; r < 128; r++) {
                assertThat(call.ranges().get(r)).isEqualTo(new Range(odd[c * 128 + r], 1));
            }
        }
        assertThat(socket.flushReleases()).isZero();
        assertKernelAnsweredEveryCall();
        assertLedgerEmpty(1024);
    }

    @Test
    void aRangeOf3000ConsecutiveTokensIsSplitAt1024FragsPerCall() throws Exception {
        issue(range(1, 3000));
        release(range(1, 1024));
        assertThat(endpoint.dontneedCalls()).containsExactly(new DontneedCall(8, List.of(new Range(1, 1024)), 0));
        release(range(1025, 3000));
        assertThat(socket.flushReleases()).isEqualTo(1);
        assertThat(endpoint.dontneedCalls()).containsExactly(
                new DontneedCall(8, List.of(new Range(1, 1024)), 0),
                new DontneedCall(8, List.of(new Range(1025, 1024)), 0),
                new DontneedCall(8, List.of(new Range(2049, 952)), 0));
        assertLedgerEmpty(3000);
    }

    @Test
    void shuffledReleasesStillSendEveryTokenExactlyOnceWithinTheKernelsLimits() throws Exception {
        int[] tokens = range(1, 5000);
        issue(tokens);
        List<Integer> order = new ArrayList<>();
        for (int t : tokens) {
            order.add(t);
        }
        Collections.shuffle(order, new Random(11));
        for (int t : order) {
            socket.release(FragKind.DMABUF, t);
        }
        socket.flushReleases();
        assertKernelAnsweredEveryCall();
        for (DontneedCall c : endpoint.dontneedCalls()) {
            for (int r = 1; r < c.ranges().size(); r++) {
                Range prev = c.ranges().get(r - 1);
                assertThat(c.ranges().get(r).start()).as("sorted, and a gap between ranges")
                        .isGreaterThan(prev.start() + prev.count());
            }
        }
        int[] sent = endpoint.tokensSent();
        assertThat(sent).hasSize(5000);
        assertThat(IntStream.of(sent).sorted().toArray()).containsExactly(tokens);
        assertLedgerEmpty(5000);
    }

    @Test
    void unknownAndDoubleReleasesAreCountedAndNeverSent() throws Exception {
        issue(range(1, 5));
        release(3, 3, 99_999, 0, -1);
        socket.release(FragKind.LINEAR, 3);
        assertThat(socket.stats().unknownReleases()).isEqualTo(5);
        socket.flushReleases();
        release(1, 2, 4, 5, 3);
        socket.flushReleases();
        assertThat(endpoint.dontneedCalls()).containsExactly(
                new DontneedCall(8, List.of(new Range(3, 1)), 0),
                new DontneedCall(16, List.of(new Range(1, 2), new Range(4, 2)), 0));
        assertThat(socket.stats().unknownReleases()).isEqualTo(6);
        assertLedgerEmpty(5);
    }

    @Test
    void aKernelErrnoIsASyscallExceptionAndTheTokensAreCountedAsNotReturned() throws Exception {
        // A UDP socket behind the same engine: the real kernel answers DONTNEED with EBADF.
        int udp = Syscalls.check(Syscalls.socket(LinuxConstants.AF_INET, LinuxConstants.SOCK_DGRAM | LinuxConstants.SOCK_CLOEXEC, 0), "socket");
        RecordingEndpoint onUdp = new RecordingEndpoint(new LinuxSocketEndpoint(udp));
        try (DevmemSocketImpl s = new DevmemSocketImpl(onUdp, RxSocketOptions.defaults())) {
            onUdp.frags(new RecordingEndpoint.Dmabuf(1, 0, 1, 1), new RecordingEndpoint.Dmabuf(1, 0, 1, 2));
            assertThat(s.receive(batch)).isEqualTo(2);
            s.release(FragKind.DMABUF, 1);
            s.release(FragKind.DMABUF, 2);
            assertThatThrownBy(s::flushReleases)
                    .isInstanceOfSatisfying(SyscallException.class, e -> {
                        assertThat(e.operation()).isEqualTo("setsockopt(SO_DEVMEM_DONTNEED)");
                        assertThat(e.errno()).isEqualTo(Errno.EBADF);
                    });
            assertThat(onUdp.dontneedCalls()).containsExactly(new DontneedCall(8, List.of(new Range(1, 2)), -9));
            assertThat(s.pendingReleases()).isZero();
            assertThat(s.stats().dontneedShortfall()).isEqualTo(2);
            assertThat(s.stats().dontneedCalls()).isZero();
        }
    }
}
