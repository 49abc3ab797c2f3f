package dev.devmem.ffm.rx;

import dev.devmem.api.SyscallException;
import dev.devmem.ffm.sys.LinuxConstants;
import dev.devmem.ffm.testing.Theories;
import org.junit.jupiter.api.Test;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.Generate;
import org.quicktheories.generators.SourceDSL;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.BitSet;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Properties of {@link DontneedBatcher} against the kernel's {@code SO_DEVMEM_DONTNEED} limits (ABI
 * fact sheet 2.x: at most 128 ranges per call, at most 1024 frags freed per call, the rest silently
 * ignored): whatever tokens are queued, in whatever order and with whatever flush points,
 * <ul>
 *   <li>every call carries 1..128 ranges and 1..1024 frags, with {@code optlen = 8 * ranges};</li>
 *   <li>ranges inside a call ascend and no two of them touch (truly consecutive tokens are one range);</li>
 *   <li>every call of a flush but the last is full (128 ranges or 1024 frags): no call is wasted;</li>
 *   <li>every queued token goes out exactly once and nothing else does;</li>
 *   <li>when the kernel refuses a call, the accounting still balances: freed + shortfall = queued.</li>
 * </ul>
 * Token sets are built from runs of consecutive ids with gaps, near 1 (the kernel's lowest-free
 * ids), across the ledger's dense/sparse boundary and just below {@code Integer.MAX_VALUE}; QuickTheories
 * shrinks a counterexample to the fewest, shortest runs.
 */
class DontneedBatcherPropertyTest {
    /** 2,500 cases (and 500 with refused calls) in bin/test. */
    static final int CASES = 2_500;

    record Run(int gap, int length) {
    }

    record Case(int base, List<Run> runs, boolean sorted, long shuffleSeed, int flushEvery) {
        int[] tokens() {
            int n = 0;
            long t = base;
            int[] out = new int[1024];
            for (Run r : runs) {
                t += r.gap();
                for (int i = 0; i < r.length() && t <= Integer.MAX_VALUE; i++, t++) {
                    if (n == out.length) {
                        out = java.util.Arrays.copyOf(out, n * 2);
                    }
                    out[n++] = (int) t;
                }
            }
            out = java.util.Arrays.copyOf(out, n);
            if (!sorted) {
                Random random = new Random(shuffleSeed);
                for (int i = n - 1; i > 0; i--) {
                    int j = random.nextInt(i + 1);
                    int x = out[i];
                    out[i] = out[j];
                    out[j] = x;
                }
            }
            return out;
        }

        @Override
        public String toString() {
            return "Case[base " + base + ", runs " + runs + (sorted ? ", sorted" : ", shuffled by " + shuffleSeed)
                    + ", flush every " + flushEvery + "]";
        }
    }

    static Gen<Run> runs() {
        Gen<Integer> gap = Generate.frequency(
                org.quicktheories.api.Pair.of(6, SourceDSL.integers().between(1, 3)),
                org.quicktheories.api.Pair.of(1, SourceDSL.integers().between(4, 70_000)));
        Gen<Integer> length = Generate.frequency(
                org.quicktheories.api.Pair.of(24, SourceDSL.integers().between(1, 4)),
                org.quicktheories.api.Pair.of(6, SourceDSL.integers().between(5, 300)),
                org.quicktheories.api.Pair.of(1, SourceDSL.integers().between(1000, 2100)));
        return gap.zip(length, Run::new);
    }

    static Gen<Case> cases() {
        Gen<Integer> base = Generate.pick(List.of(0, 0, 0, (1 << 16) - 40, Integer.MAX_VALUE - 3000));
        Gen<List<Run>> runList = SourceDSL.lists().of(runs()).ofSizeBetween(0, 80);
        Gen<Integer> flushEvery = Generate.pick(List.of(0, 0, 1, 7, 100, 1023, 1500));
        return base.zip(runList, SourceDSL.booleans().all(), SourceDSL.longs().all(), flushEvery, Case::new);
    }

    @Test
    void everyQueuedTokenLeavesExactlyOnceInFullCoalescedCallsWithinTheKernelsLimits() {
        try (Arena arena = Arena.ofConfined()) {
            var rangeBuffer = arena.allocate(DontneedBatcher.RANGE_BUFFER_BYTES, 8);
            Theories.qt(0xD0_47_EE_D1L, CASES).forAll(cases()).checkAssert(c -> {
                int[] tokens = c.tokens();
                FakeDontneedEndpoint endpoint = new FakeDontneedEndpoint();
                DontneedBatcher batcher = new DontneedBatcher(rangeBuffer);
                List<Integer> flushEnds = new ArrayList<>(); // index into calls where each flush ended
                for (int i = 0; i < tokens.length; i++) {
                    boolean full = batcher.add(tokens[i]);
                    if (full || c.flushEvery() > 0 && (i + 1) % c.flushEvery() == 0) {
                        flush(batcher, endpoint);
                        flushEnds.add(endpoint.calls.size());
                    }
                }
                flush(batcher, endpoint);
                flushEnds.add(endpoint.calls.size());

                // Sets of token - base: the tokens span at most a few million ids above the base.
                BitSet expected = new BitSet();
                for (int t : tokens) {
                    expected.set(Math.toIntExact(t - (long) c.base()));
                }
                BitSet returned = new BitSet();
                long frags = 0;
                for (int k = 0; k < endpoint.calls.size(); k++) {
                    FakeDontneedEndpoint.Call call = endpoint.calls.get(k);
                    assertThat(call.ranges()).as("call %d of %s", k, c).hasSizeBetween(1, LinuxConstants.DONTNEED_MAX_RANGES);
                    assertThat(call.frags()).as("call %d", k).isBetween(1, LinuxConstants.DONTNEED_MAX_FRAGS);
                    assertThat(call.optlen()).isEqualTo(8 * call.ranges().size());
                    FakeDontneedEndpoint.Range prev = null;
                    for (FakeDontneedEndpoint.Range r : call.ranges()) {
                        assertThat(r.count()).isPositive();
                        if (prev != null) {
                            assertThat((long) prev.start() + prev.count()).as("call %d: %s then %s must neither touch nor overlap", k, prev, r)
                                    .isLessThan(r.start());
                        }
                        for (long t = r.start(); t < (long) r.start() + r.count(); t++) {
                            int bit = Math.toIntExact(t - c.base());
                            if (t < c.base() || !expected.get(bit)) {
                                throw new AssertionError("token " + t + " was never queued");
                            }
                            if (returned.get(bit)) {
                                throw new AssertionError("token " + t + " returned twice");
                            }
                            returned.set(bit);
                            frags++;
                        }
                        prev = r;
                    }
                }
                assertThat(returned).isEqualTo(expected);
                assertThat(frags).isEqualTo(tokens.length);
                // Only a flush's last call may be partial.
                int from = 0;
                for (int end : flushEnds) {
                    for (int k = from; k < end - 1; k++) {
                        FakeDontneedEndpoint.Call call = endpoint.calls.get(k);
                        assertThat(call.ranges().size() == LinuxConstants.DONTNEED_MAX_RANGES
                                || call.frags() == LinuxConstants.DONTNEED_MAX_FRAGS)
                                .as("call %d of a flush ending at %d is neither 128 ranges nor 1024 frags: %s", k, end, call)
                                .isTrue();
                    }
                    from = end;
                }
                assertThat(batcher.returned()).isEqualTo(tokens.length);
                assertThat(batcher.shortfall()).isZero();
                assertThat(batcher.pending()).isZero();
            });
        }
    }

    @Test
    void aRefusedCallLosesNoCountFreedPlusShortfallIsEverythingQueued() {
        try (Arena arena = Arena.ofConfined()) {
            var rangeBuffer = arena.allocate(DontneedBatcher.RANGE_BUFFER_BYTES, 8);
            Theories.qt(0xFA_11_ED_C4L, CASES / 5)
                    .forAll(cases(), SourceDSL.integers().between(0, 4)).checkAssert((c, failEvery) -> {
                int[] tokens = c.tokens();
                FakeDontneedEndpoint endpoint = new FakeDontneedEndpoint(n -> failEvery > 0 && n % failEvery == failEvery - 1);
                DontneedBatcher batcher = new DontneedBatcher(rangeBuffer);
                int errors = 0;
                for (int t : tokens) {
                    if (batcher.add(t)) {
                        errors += flushCountingErrors(batcher, endpoint);
                    }
                }
                errors += flushCountingErrors(batcher, endpoint);
                assertThat(batcher.pending()).as("a refused flush leaves nothing queued").isZero();
                assertThat(batcher.returned() + batcher.shortfall()).as("%s, %d refused calls", c, errors)
                        .isEqualTo(tokens.length);
                long freed = endpoint.calls.stream().filter(k -> k.result() >= 0).mapToLong(FakeDontneedEndpoint.Call::result).sum();
                assertThat(batcher.returned()).isEqualTo(freed);
            });
        }
    }

    private static void flush(DontneedBatcher batcher, FakeDontneedEndpoint endpoint) {
        try {
            batcher.flush(endpoint);
        } catch (SyscallException e) {
            throw new AssertionError("the fake kernel refused a call: " + endpoint.calls.getLast(), e);
        }
    }

    private static int flushCountingErrors(DontneedBatcher batcher, FakeDontneedEndpoint endpoint) {
        try {
            batcher.flush(endpoint);
            return 0;
        } catch (SyscallException e) {
            assertThat(e.errno().number()).isEqualTo(22);
            return 1;
        }
    }
}
