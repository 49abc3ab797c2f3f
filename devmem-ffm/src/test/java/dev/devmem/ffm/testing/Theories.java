package dev.devmem.ffm.testing;

import org.quicktheories.QuickTheory;

/**
 * QuickTheories set up the way this project's property tests run: a fixed seed per test (so a CI
 * failure replays), a bounded number of examples in {@code bin/test}, and both moved by the soak
 * knobs of {@link Soak} ({@code -Ddevmem.soak=N} multiplies the examples, {@code -Ddevmem.seed=S}
 * moves the seed). A falsified property is shrunk to a small counterexample before it is reported,
 * with the seed in the message.
 *
 * <p>QuickTheories rather than jqwik: jqwik's author added an Anti-AI-usage clause to it, and this
 * project respects that wish for every version.
 */
public final class Theories {
    private Theories() {
    }

    /** {@code ciExamples} cases (times {@code devmem.soak}) from {@code baseSeed} (plus {@code devmem.seed}). */
    public static QuickTheory qt(long baseSeed, int ciExamples) {
        return QuickTheory.qt().withFixedSeed(Soak.seed(baseSeed)).withExamples(Soak.cases(ciExamples))
                .withShrinkCycles(2_000);
    }
}
