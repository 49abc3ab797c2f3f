package dev.devmem.ffm.rx;

import dev.devmem.api.DevmemProtocolException;
import dev.devmem.ffm.testing.CmsgBuilder;
import dev.devmem.ffm.testing.Soak;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

/**
 * Seeded fuzzing of the cmsg walker: valid control buffers as the kernel lays them out, with a few
 * bytes corrupted and cut at random lengths. The buffer handed to the walker is exactly
 * {@code msg_controllen} long, so a read outside it throws {@link IndexOutOfBoundsException} and fails
 * the case; the only acceptable outcomes are a clean walk inside the buffer or a
 * {@link DevmemProtocolException}. The seed of a failing case is in the message.
 */
class CmsgWalkerFuzzTest {
    private static final long BASE_SEED = Soak.seed(0xC4_5617L);
    private static final int CASES = Soak.cases(20_000);

    @Test
    void corruptedControlBuffersAreRejectedOrWalkedInsideTheirBounds() {
        CmsgWalker walker = new CmsgWalker();
        int rejected = 0;
        int walked = 0;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment scratch = arena.allocate(4096, 8);
            for (int c = 0; c < CASES; c++) {
                long seed = BASE_SEED + c;
                Random random = new Random(seed);
                scratch.fill((byte) 0);
                CmsgBuilder b = new CmsgBuilder(scratch);
                int n = random.nextInt(12);
                for (int i = 0; i < n; i++) {
                    switch (random.nextInt(4)) {
                        case 0 -> b.linear(1 + random.nextInt(4096));
                        case 1 -> b.other(random.nextInt(3), random.nextInt(100), new byte[random.nextInt(20)]);
                        default -> b.dmabuf(random.nextLong() & 0xFFFF_FFFFL, 1 + random.nextInt(4096),
                                1 + random.nextInt(1 << 20), 1 + random.nextInt(100));
                    }
                }
                long controllen = random.nextBoolean() ? b.controllen() : b.controllenWithoutLastPadding();
                for (int m = random.nextInt(4); m > 0 && controllen > 0; m--) {
                    long at = random.nextLong(controllen);
                    scratch.set(ValueLayout.JAVA_BYTE, at, (byte) random.nextInt(256));
                }
                if (random.nextInt(4) == 0 && controllen > 0) {
                    controllen = random.nextLong(controllen + 1); // the kernel never cuts, a broken one might
                }
                MemorySegment control = arena.allocate(Math.max(1, controllen), 8).asSlice(0, controllen);
                MemorySegment.copy(scratch, 0, control, 0, controllen);
                try {
                    walker.reset(control, controllen);
                    while (walker.next()) {
                        assertThat(walker.position()).as("seed %d", seed).isBetween(0L, controllen - 16);
                        assertThat(walker.position() + walker.length()).as("seed %d", seed).isLessThanOrEqualTo(controllen);
                        if (walker.isDmabuf() || walker.isLinear()) {
                            assertThat(walker.length()).as("seed %d", seed).isEqualTo(40);
                            walker.fragOffset();
                            walker.fragSize();
                            walker.fragToken();
                            walker.dmabufId();
                            walker.flags();
                        }
                    }
                    walked++;
                } catch (DevmemProtocolException expected) {
                    rejected++;
                } catch (IndexOutOfBoundsException e) {
                    fail("seed " + seed + ": the walker read outside the control buffer", e);
                }
            }
        }
        // Both outcomes must actually occur, or the corpus is not testing anything.
        assertThat(rejected).isGreaterThan(CASES / 20);
        assertThat(walked).isGreaterThan(CASES / 20);
    }
}
