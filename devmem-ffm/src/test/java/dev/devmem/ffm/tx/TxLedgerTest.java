package dev.devmem.ffm.tx;

import dev.devmem.api.DevmemProtocolException;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TxLedgerTest {
    record Done(long tag, long bytes, boolean copied) {
    }

    private final List<Done> done = new ArrayList<>();

    private int drain(TxLedger l) {
        return l.drain((tag, bytes, copied) -> done.add(new Done(tag, bytes, copied)));
    }

    @Test
    void sendsGetConsecutiveNumbersFromZero() {
        TxLedger l = new TxLedger();
        assertThat(l.record(10, 100)).isZero();
        assertThat(l.record(11, 200)).isEqualTo(1);
        assertThat(l.record(12, 300)).isEqualTo(2);
        assertThat(l.size()).isEqualTo(3);
        assertThat(l.bytes()).isEqualTo(600);
        assertThat(l.nextNumber()).isEqualTo(3);
    }

    @Test
    void aMergedRangeCompletesEverySendInItInOrder() throws Exception {
        TxLedger l = new TxLedger();
        l.record(10, 100);
        l.record(11, 200);
        l.record(12, 300);
        assertThat(l.complete(0, 2, true)).isEqualTo(3);
        assertThat(drain(l)).isEqualTo(3);
        assertThat(done).containsExactly(new Done(10, 100, true), new Done(11, 200, true), new Done(12, 300, true));
        assertThat(l.size()).isZero();
        assertThat(l.bytes()).isZero();
    }

    @Test
    void aLaterSendCompletedFirstWaitsForTheEarlierOne() throws Exception {
        TxLedger l = new TxLedger();
        l.record(1, 10);
        l.record(2, 20);
        l.record(3, 30);
        l.complete(1, 2, false);
        assertThat(drain(l)).isZero();
        assertThat(l.completedNotDrained()).isEqualTo(2);
        assertThat(l.bytes()).isEqualTo(60);
        l.complete(0, 0, true);
        assertThat(drain(l)).isEqualTo(3);
        assertThat(done).containsExactly(new Done(1, 10, true), new Done(2, 20, false), new Done(3, 30, false));
    }

    @Test
    void numbersWrapAtTwoToThe32() throws Exception {
        TxLedger l = new TxLedger(16, 0xFFFF_FFFE);
        assertThat(l.record(1, 1)).isEqualTo(0xFFFF_FFFE);
        assertThat(l.record(2, 2)).isEqualTo(0xFFFF_FFFF);
        assertThat(l.record(3, 3)).isZero();
        assertThat(l.record(4, 4)).isEqualTo(1);
        assertThat(l.complete(0xFFFF_FFFE, 1, false)).isEqualTo(4);
        assertThat(drain(l)).isEqualTo(4);
        assertThat(l.nextNumber()).isEqualTo(2);
        assertThat(done).extracting(Done::tag).containsExactly(1L, 2L, 3L, 4L);
    }

    @Test
    void aRangeReachingPastTheLastSendIsAProtocolError() {
        TxLedger l = new TxLedger();
        l.record(1, 10);
        l.record(2, 10);
        assertThatThrownBy(() -> l.complete(1, 2, false))
                .isInstanceOf(DevmemProtocolException.class).hasMessageContaining("[0, 1]");
        assertThat(l.completedNotDrained()).as("nothing marked by a rejected notice").isZero();
    }

    @Test
    void aRangeOfAlreadyReportedSendsIsAProtocolError() throws Exception {
        TxLedger l = new TxLedger();
        l.record(1, 10);
        l.complete(0, 0, false);
        drain(l);
        l.record(2, 10);
        assertThatThrownBy(() -> l.complete(0, 0, false)).isInstanceOf(DevmemProtocolException.class);
        assertThatThrownBy(() -> l.complete(5, 5, false)).isInstanceOf(DevmemProtocolException.class);
    }

    @Test
    void completingASendTwiceIsAProtocolError() throws Exception {
        TxLedger l = new TxLedger();
        l.record(1, 10);
        l.record(2, 10);
        l.record(3, 10);
        l.complete(1, 1, false);
        assertThatThrownBy(() -> l.complete(0, 2, false))
                .isInstanceOf(DevmemProtocolException.class).hasMessageContaining("send 1 a second time");
        assertThat(l.completedNotDrained()).isEqualTo(1);
    }

    @Test
    void theRingGrowsWhileSendsAreOutstandingAndKeepsOrder() throws Exception {
        TxLedger l = new TxLedger(16, 0);
        for (int i = 0; i < 1000; i++) {
            l.record(i, i + 1);
        }
        assertThat(l.bytes()).isEqualTo(1000L * 1001 / 2);
        l.complete(0, 499, false);
        assertThat(drain(l)).isEqualTo(500);
        for (int i = 1000; i < 1500; i++) {
            l.record(i, 1);
        }
        l.complete(500, 1499, false);
        assertThat(drain(l)).isEqualTo(1000);
        assertThat(done).extracting(Done::tag).containsExactlyElementsOf(
                java.util.stream.LongStream.range(0, 1500).boxed().toList());
        assertThat(l.size()).isZero();
        assertThat(l.bytes()).isZero();
    }

    @Test
    void randomRangesInRandomOrderReportEverySendOnceInOrder() throws Exception {
        SplittableRandom rnd = new SplittableRandom(42);
        TxLedger l = new TxLedger(16, 0xFFFF_F000); // crosses the wrap
        long sent = 0;
        long bytes = 0;
        List<int[]> pending = new ArrayList<>();
        int next = 0xFFFF_F000;
        for (int round = 0; round < 2000; round++) {
            int n = 1 + rnd.nextInt(8);
            int lo = next;
            for (int k = 0; k < n; k++) {
                long b = 1 + rnd.nextInt(100_000);
                assertThat(l.record(sent, b)).isEqualTo(next);
                next++;
                sent++;
                bytes += b;
            }
            pending.add(new int[]{lo, next - 1});
            if (rnd.nextInt(3) == 0 || round == 1999) {
                while (!pending.isEmpty()) {
                    int[] r = pending.remove(rnd.nextInt(pending.size()));
                    l.complete(r[0], r[1], false);
                    drain(l);
                }
            }
        }
        assertThat(done).hasSize((int) sent);
        assertThat(done.stream().mapToLong(Done::bytes).sum()).isEqualTo(bytes);
        for (int i = 0; i < done.size(); i++) {
            assertThat(done.get(i).tag()).isEqualTo(i);
        }
        assertThat(l.size()).isZero();
    }
}
