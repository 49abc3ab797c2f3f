package dev.devmem.ffm.emulated;

import dev.devmem.api.DmabufSource;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.SplittableRandom;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The token table against a model of the kernel's xarray (lowest free index in [1, 2^31-1], freed
 * ids reused): random allocations and erases, across more than one word of the summary bitmap.
 */
class TokenTableTest {

    @Test
    void allocatesTheLowestFreeIdLikeTheXarrayAndDropsOneReferencePerErase() throws Exception {
        try (EmulatedNic nic = EmulatedNic.create(EmulatedNicConfig.defaults());
             EmulatedRxBinding b = nic.bindRx(List.of(0), DmabufSource.emulated(16 * 4096))) {
            int[] taken = new int[1];
            assertThat(b.take(taken, 1, null)).isEqualTo(1);
            int buffer = taken[0];
            BufferReturns returns = new BufferReturns(4);
            TokenTable table = new TokenTable();
            TreeSet<Integer> held = new TreeSet<>();
            TreeSet<Integer> freeBelowTop = new TreeSet<>(); // the model: free ids <= top
            SplittableRandom rng = new SplittableRandom(7);
            int top = 0; // every id <= top was allocated at least once
            // 300k ids: the free bitmap's summary spans more than one 4096-id word
            for (int round = 0; round < 600_000; round++) {
                boolean grow = round < 300_000 || rng.nextInt(3) != 0;
                if (grow || held.isEmpty()) {
                    int expected = freeBelowTop.isEmpty() ? top + 1 : freeBelowTop.first();
                    assertThat(table.peekLowestFree()).isEqualTo(expected);
                    int t = table.allocate(b, buffer);
                    assertThat(t).isEqualTo(expected);
                    if (rng.nextInt(16) == 0) {
                        // its cmsg did not fit: undone, and the next allocation takes the same id
                        table.unallocate(t);
                        assertThat(table.peekLowestFree()).isEqualTo(t);
                        assertThat(table.allocate(b, buffer)).isEqualTo(t);
                    }
                    b.ref(buffer, 1);
                    held.add(t);
                    freeBelowTop.remove(t);
                    top = Math.max(top, t);
                } else {
                    // erase a random id, held or not (DONTNEED may name ids that are not held)
                    int id = 1 + rng.nextInt(top + 2);
                    boolean wasHeld = held.remove(id);
                    assertThat(table.erase(id, returns)).isEqualTo(wasHeld);
                    if (wasHeld) {
                        freeBelowTop.add(id);
                    }
                    if (round % 1000 == 0) {
                        // a burst of frees from the bottom, as a DONTNEED of the oldest tokens does
                        for (int k = 0; k < 64 && !held.isEmpty(); k++) {
                            int lo = held.pollFirst();
                            assertThat(table.erase(lo, returns)).isTrue();
                            freeBelowTop.add(lo);
                        }
                    }
                }
                assertThat(table.outstanding()).isEqualTo(held.size());
            }
            assertThat(table.erase(0, returns)).isFalse();
            assertThat(table.erase(-1, returns)).isFalse();
            assertThat(table.erase(1L << 32, returns)).isFalse();
            assertThat(table.clear(returns)).isEqualTo(held.size());
            returns.flush();
            assertThat(table.peekLowestFree()).isEqualTo(1);
            // every token reference dropped, and the skb's own one is still there
            assertThat(b.buffersHeld()).isEqualTo(1);
            assertThat(b.drop(buffer)).isTrue();
            b.recycle(new int[] {buffer}, 1);
            assertThat(b.buffersHeld()).isZero();
            assertThat(b.buffersFree()).isEqualTo(16);
        }
    }
}
