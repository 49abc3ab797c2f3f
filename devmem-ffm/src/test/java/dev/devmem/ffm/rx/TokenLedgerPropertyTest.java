package dev.devmem.ffm.rx;

import dev.devmem.ffm.testing.Theories;
import org.junit.jupiter.api.Test;
import org.quicktheories.api.Pair;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.Generate;
import org.quicktheories.generators.SourceDSL;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@link TokenLedger} against a {@link HashSet} model, over random sequences of add, remove,
 * contains and clear: every answer and the size agree after every step, whatever the tokens. The
 * ledger keeps small tokens in a bitmap and the rest in an open-addressing set with backward-shift
 * deletion, so the tokens are drawn to hit both halves, the boundary between them, probe-run
 * collisions (multiples of the table size) and the extremes; QuickTheories shrinks a failing
 * sequence to its shortest form.
 */
class TokenLedgerPropertyTest {
    /** 4,500 sequences of up to 400 operations in bin/test. */
    static final int CASES = 4_500;

    enum Kind { ADD, REMOVE, CONTAINS, CLEAR }

    record Op(Kind kind, int token) {
        @Override
        public String toString() {
            return kind == Kind.CLEAR ? "clear" : kind.name().toLowerCase() + "(" + token + ")";
        }
    }

    static Gen<Integer> tokens() {
        return Generate.frequency(List.of(
                Pair.of(4, SourceDSL.integers().between(1, 200)),
                Pair.of(2, SourceDSL.integers().between(TokenLedger.DENSE - 8, TokenLedger.DENSE + 8)),
                Pair.of(3, SourceDSL.integers().between(TokenLedger.DENSE, TokenLedger.DENSE + 5_000)),
                Pair.of(2, SourceDSL.integers().between(1, 64).map(k -> TokenLedger.DENSE + k * 1024)),
                Pair.of(1, SourceDSL.integers().between(Integer.MAX_VALUE - 20, Integer.MAX_VALUE)),
                Pair.of(1, SourceDSL.integers().all())));
    }

    static Gen<Op> ops() {
        Gen<Kind> kind = Generate.frequency(List.of(
                Pair.of(10, Generate.constant(Kind.ADD)),
                Pair.of(7, Generate.constant(Kind.REMOVE)),
                Pair.of(4, Generate.constant(Kind.CONTAINS)),
                Pair.of(1, Generate.constant(Kind.CLEAR))));
        return kind.zip(tokens(), Op::new);
    }

    @Test
    void agreesWithASetAfterEveryOperation() {
        Theories.qt(0x1ED6E4L, CASES).forAll(SourceDSL.lists().of(ops()).ofSizeBetween(0, 400)).checkAssert(ops -> {
            TokenLedger ledger = new TokenLedger(4);
            Set<Integer> model = new HashSet<>();
            int step = 0;
            for (Op op : ops) {
                String at = "step " + step++ + " " + op;
                switch (op.kind()) {
                    case ADD -> {
                        if (op.token() <= 0) {
                            assertThatThrownBy(() -> ledger.add(op.token())).as(at).isInstanceOf(IllegalArgumentException.class);
                        } else {
                            assertThat(ledger.add(op.token())).as(at).isEqualTo(model.add(op.token()));
                        }
                    }
                    case REMOVE -> assertThat(ledger.remove(op.token())).as(at).isEqualTo(model.remove(op.token()));
                    case CONTAINS -> assertThat(ledger.contains(op.token())).as(at).isEqualTo(model.contains(op.token()));
                    case CLEAR -> {
                        ledger.clear();
                        model.clear();
                    }
                }
                assertThat(ledger.size()).as(at).isEqualTo(model.size());
            }
            for (int t : model) {
                assertThat(ledger.contains(t)).as("held token %d still found after %s", t, ops).isTrue();
            }
            for (int t : model) {
                assertThat(ledger.remove(t)).isTrue();
            }
            assertThat(ledger.size()).as("the ledger is empty once every held token left").isZero();
        });
    }
}
