package dev.devmem.ffm.rx;

import dev.devmem.ffm.RxSocketOptions;
import dev.devmem.api.FragKind;
import dev.devmem.api.spi.ReceiveBatch;
import dev.devmem.ffm.sys.LinuxConstants;
import dev.devmem.ffm.testing.LoopbackPair;
import dev.devmem.ffm.testing.RecordingEndpoint;
import dev.devmem.ffm.testing.Soak;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collections;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Properties of token return over many seeded random cases (the seed of a failing case is in the
 * assertion message, so it replays): whatever the order, holes, duplicates and flush points, every
 * token issued and released goes back to the kernel exactly once, never a token that was not
 * outstanding, and every call stays inside the kernel's per-call limits. The calls reach the real
 * kernel through the recording endpoint.
 */
class ReleaseBatchingPropertyTest {
    private static final long BASE_SEED = Soak.seed(0x5EED_DE_4D_E3L);
    private static final int CASES = Soak.cases(150);

    @Test
    void everyReleasedTokenGoesBackExactlyOnceWithinTheKernelsLimits() throws Exception {
        for (int c = 0; c < CASES; c++) {
            long seed = BASE_SEED + c;
            runCase(seed);
        }
    }

    private static void runCase(long seed) throws Exception {
        Random random = new Random(seed);
        int count = 1 + random.nextInt(random.nextBoolean() ? 64 : 4000);
        int spread = 1 + random.nextInt(4); // 1 = dense ids, larger = holes between them
        BitSet ids = new BitSet();
        while (ids.cardinality() < count) {
            ids.set(1 + random.nextInt(count * spread));
        }
        int[] tokens = ids.stream().toArray();
        List<Integer> order = new ArrayList<>();
        for (int t : tokens) {
            order.add(t);
        }
        Collections.shuffle(order, random);
        boolean inOrder = random.nextBoolean();
        if (inOrder) {
            Collections.sort(order); // in-order release, the common case
        }

        try (LoopbackPair pair = LoopbackPair.open()) {
            RecordingEndpoint endpoint = new RecordingEndpoint(pair.receiver());
            DevmemSocketImpl socket = new DevmemSocketImpl(endpoint, RxSocketOptions.defaults());
            try {
                ReceiveBatch batch = new ReceiveBatch(1000);
                for (int from = 0; from < tokens.length; from += 1000) {
                    List<RecordingEndpoint.Frag> frags = new ArrayList<>();
                    for (int i = from; i < Math.min(tokens.length, from + 1000); i++) {
                        frags.add(new RecordingEndpoint.Dmabuf(1, 4096L * i, 64, tokens[i]));
                    }
                    endpoint.frags(frags.toArray(RecordingEndpoint.Frag[]::new));
                    assertThat(socket.receive(batch)).as("seed %d", seed).isEqualTo(frags.size());
                }

                int duplicates = 0;
                int strangers = 0;
                int flushes = 0;
                for (int t : order) {
                    socket.release(FragKind.DMABUF, t);
                    if (random.nextInt(20) == 0) {
                        socket.release(FragKind.DMABUF, t); // a second release of the same frag
                        duplicates++;
                    }
                    if (random.nextInt(50) == 0) {
                        socket.release(FragKind.DMABUF, count * spread + 1 + random.nextInt(1000)); // never issued
                        strangers++;
                    }
                    if (random.nextInt(300) == 0) {
                        socket.flushReleases();
                        flushes++;
                    }
                }
                socket.flushReleases();

                BitSet returned = new BitSet();
                long frags = 0;
                for (RecordingEndpoint.DontneedCall call : endpoint.dontneedCalls()) {
                    assertThat(call.ranges().size()).as("seed %d ranges per call", seed)
                            .isBetween(1, LinuxConstants.DONTNEED_MAX_RANGES);
                    assertThat(call.frags()).as("seed %d frags per call", seed)
                            .isBetween(1, LinuxConstants.DONTNEED_MAX_FRAGS);
                    assertThat(call.optlen()).as("seed %d", seed).isEqualTo(8 * call.ranges().size());
                    for (RecordingEndpoint.Range r : call.ranges()) {
                        for (long t = r.start(); t < r.start() + r.count(); t++) {
                            assertThat(ids.get((int) t)).as("seed %d: token %d was never issued", seed, t).isTrue();
                            assertThat(returned.get((int) t)).as("seed %d: token %d returned twice", seed, t).isFalse();
                            returned.set((int) t);
                            frags++;
                        }
                    }
                }
                assertThat(returned).as("seed %d: every issued token returned", seed).isEqualTo(ids);
                assertThat(frags).isEqualTo(count);
                assertThat(socket.outstanding()).as("seed %d", seed).isZero();
                assertThat(socket.stats().unknownReleases()).as("seed %d", seed).isEqualTo(duplicates + strangers);
                // Coalescing: dense tokens released in order go back in full 1024-frag calls, plus one
                // partial call per explicit flush and one at the end.
                if (spread == 1 && inOrder) {
                    long minimum = (count + LinuxConstants.DONTNEED_MAX_FRAGS - 1) / LinuxConstants.DONTNEED_MAX_FRAGS;
                    assertThat(endpoint.dontneedCalls().size()).as("seed %d calls", seed)
                            .isLessThanOrEqualTo((int) minimum + flushes + 1);
                }
            } finally {
                socket.close();
            }
        }
    }
}
