package dev.devmem.ffm.emulated;

import dev.devmem.api.DmabufSource;
import dev.devmem.ffm.testing.Theories;
import org.junit.jupiter.api.Test;
import org.quicktheories.api.Pair;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.Generate;
import org.quicktheories.generators.SourceDSL;

import java.util.List;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The emulated NIC's {@link TokenTable} against a model of the kernel's xarray
 * ({@code XA_FLAGS_ALLOC1}, {@code xa_limit_31b}: a new token is the lowest index >= 1 not held),
 * over random sequences of allocations, undone allocations (a cmsg that did not fit) and erases of
 * held, freed, never-issued and out-of-range ids (DONTNEED may name anything): every allocation
 * returns the model's lowest free id, an erase succeeds exactly for held ids and drops exactly one
 * buffer reference, and clearing returns every held token. Erases come in bursts from the bottom
 * too, as a DONTNEED of the oldest tokens does, so the two-level free bitmap's hint moves both ways.
 * (The long single-sequence walk past the first summary word stays in {@link TokenTableTest}.)
 */
class TokenTablePropertyTest {
    /** 2,500 sequences of up to 500 operations in bin/test. */
    static final int CASES = 2_500;

    enum Kind { ALLOCATE, ALLOCATE_UNDONE, ERASE, ERASE_LOWEST_BURST }

    record Op(Kind kind, long id) {
        @Override
        public String toString() {
            return kind == Kind.ERASE ? "erase(" + id + ")" : kind.name().toLowerCase();
        }
    }

    static Gen<Op> ops() {
        Gen<Long> ids = Generate.frequency(List.of(
                Pair.of(8, SourceDSL.longs().between(1, 300)),
                Pair.of(1, Generate.pick(List.of(0L, -1L, 1L << 31, (1L << 32) - 1, 1L << 32)))));
        return Generate.frequency(List.of(
                Pair.of(10, Generate.constant(new Op(Kind.ALLOCATE, 0))),
                Pair.of(1, Generate.constant(new Op(Kind.ALLOCATE_UNDONE, 0))),
                Pair.of(7, ids.map(id -> new Op(Kind.ERASE, id))),
                Pair.of(1, Generate.constant(new Op(Kind.ERASE_LOWEST_BURST, 0)))));
    }

    @Test
    void allocatesTheLowestFreeIdAndErasesExactlyTheHeldOnes() throws Exception {
        try (EmulatedNic nic = EmulatedNic.create(EmulatedNicConfig.defaults());
             EmulatedRxBinding b = nic.bindRx(List.of(0), DmabufSource.emulated(16 * 4096))) {
            int[] taken = new int[1];
            assertThat(b.take(taken, 1, null)).isEqualTo(1);
            int buffer = taken[0];
            BufferReturns returns = new BufferReturns(8);
            Theories.qt(0x70_4E_17_AB_1EL, CASES).forAll(SourceDSL.lists().of(ops()).ofSizeBetween(0, 500)).checkAssert(ops -> {
                TokenTable table = new TokenTable();
                TreeSet<Integer> held = new TreeSet<>();
                int step = 0;
                for (Op op : ops) {
                    String at = "step " + step++ + " " + op;
                    switch (op.kind()) {
                        case ALLOCATE -> {
                            int expected = lowestFree(held);
                            assertThat(table.peekLowestFree()).as(at).isEqualTo(expected);
                            assertThat(table.allocate(b, buffer)).as(at).isEqualTo(expected);
                            b.ref(buffer, 1);
                            held.add(expected);
                        }
                        case ALLOCATE_UNDONE -> {
                            int expected = lowestFree(held);
                            assertThat(table.allocate(b, buffer)).as(at).isEqualTo(expected);
                            table.unallocate(expected);
                            assertThat(table.peekLowestFree()).as(at + ": the undone id is the lowest free again").isEqualTo(expected);
                        }
                        case ERASE -> {
                            boolean wasHeld = op.id() > 0 && op.id() <= Integer.MAX_VALUE && held.remove((int) op.id());
                            assertThat(table.erase(op.id(), returns)).as(at).isEqualTo(wasHeld);
                        }
                        case ERASE_LOWEST_BURST -> {
                            for (int k = 0; k < 70 && !held.isEmpty(); k++) {
                                int lo = held.pollFirst();
                                assertThat(table.erase(lo, returns)).as(at + " of " + lo).isTrue();
                            }
                        }
                    }
                    returns.flush();
                    assertThat(table.outstanding()).as(at).isEqualTo(held.size());
                    assertThat(b.buffersHeld()).as(at + ": one buffer, held by the tokens and its own reference").isEqualTo(1);
                }
                assertThat(table.clear(returns)).as("clear returns every held token").isEqualTo(held.size());
                returns.flush();
                assertThat(table.outstanding()).isZero();
                assertThat(table.peekLowestFree()).isEqualTo(1);
                assertThat(b.buffersHeld()).as("every token reference dropped, exactly once").isEqualTo(1);
            });
            assertThat(b.drop(buffer)).isTrue();
            b.recycle(new int[] {buffer}, 1);
            assertThat(b.buffersHeld()).isZero();
        }
    }

    private static int lowestFree(TreeSet<Integer> held) {
        int k = 1;
        for (int t : held) {
            if (t != k) {
                break;
            }
            k++;
        }
        return k;
    }
}
