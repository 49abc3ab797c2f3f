package dev.devmem.ffm.rx;

import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Random;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TokenLedgerTest {

    @Test
    void addsRemovesAndRefusesDuplicates() {
        TokenLedger l = new TokenLedger(4);
        assertThat(l.add(1)).isTrue();
        assertThat(l.add(1)).isFalse();
        assertThat(l.contains(1)).isTrue();
        assertThat(l.remove(1)).isTrue();
        assertThat(l.remove(1)).isFalse();
        assertThat(l.contains(1)).isFalse();
        assertThat(l.size()).isZero();
        assertThat(l.remove(0)).isFalse();
        assertThat(l.remove(-5)).isFalse();
        assertThatThrownBy(() -> l.add(0)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void matchesASetUnderRandomChurnIncludingGrowthAndExtremeTokens() {
        TokenLedger l = new TokenLedger(1);
        Set<Integer> model = new HashSet<>();
        Random rnd = new Random(42);
        for (int i = 0; i < 200_000; i++) {
            int t = switch (rnd.nextInt(4)) {
                case 0 -> 1 + rnd.nextInt(64);          // dense, like the kernel's lowest-free ids
                case 1 -> 1 + rnd.nextInt(5000);
                case 2 -> Integer.MAX_VALUE - rnd.nextInt(8);
                default -> 1 + rnd.nextInt(Integer.MAX_VALUE);
            };
            if (rnd.nextBoolean()) {
                assertThat(l.add(t)).isEqualTo(model.add(t));
            } else {
                assertThat(l.remove(t)).isEqualTo(model.remove(t));
            }
            assertThat(l.size()).isEqualTo(model.size());
        }
        for (int t : model) {
            assertThat(l.contains(t)).isTrue();
        }
        for (int t : Set.copyOf(model)) {
            assertThat(l.remove(t)).isTrue();
        }
        assertThat(l.size()).isZero();
    }
}
