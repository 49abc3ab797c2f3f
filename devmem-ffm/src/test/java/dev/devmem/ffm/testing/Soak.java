package dev.devmem.ffm.testing;

/**
 * How long the seeded fuzz and property tests run. The test command runs a bounded number of cases
 * from fixed seeds (reproducible, a few seconds); a soak run asks for more and for other seeds:
 * <pre>
 *   bin/test -pl devmem-ffm -Dtest='*FuzzTest,*PropertyTest' -Ddevmem.soak=200 -Ddevmem.seed=$RANDOM
 * </pre>
 * {@code devmem.soak} multiplies the case count; {@code devmem.seed} is added to every base seed.
 * A failure names its seed S; {@code -Ddevmem.seed=}(S minus the test's base seed) starts the run
 * at that case.
 */
public final class Soak {
    private Soak() {
    }

    /** {@code ciCases} times the {@code devmem.soak} factor (default 1). */
    public static int cases(int ciCases) {
        long factor = Long.getLong("devmem.soak", 1);
        if (factor < 1) {
            throw new IllegalArgumentException("devmem.soak must be >= 1, was " + factor);
        }
        return (int) Math.min(Integer.MAX_VALUE, ciCases * factor);
    }

    /** {@code baseSeed} moved by {@code devmem.seed} (default 0, the CI seeds). */
    public static long seed(long baseSeed) {
        return baseSeed + Long.getLong("devmem.seed", 0);
    }
}
