package dev.devmem.ffm.testing;

import dev.devmem.api.FragKind;
import dev.devmem.api.spi.DevmemSocket;
import dev.devmem.api.spi.IoWaiter;
import dev.devmem.api.spi.Pollable;
import dev.devmem.api.spi.ReceiveBatch;

import java.util.concurrent.TimeUnit;

/**
 * Receives a {@link DevmemSocket} to the end of the stream, checking every fragment where it lands
 * (DMABUF bytes in the dmabuf's host view, LINEAR and HOST bytes in the host buffer) against a
 * pattern at its exact stream position, and releasing each. Optionally dawdles every 64 MiB, so that
 * the sender's bytes wait in its own socket queue for a while.
 */
public final class PatternReceiver {
    /** Bytes received by kind ({@link FragKind#ordinal()}), and the total. */
    public record Result(long total, long[] bytesByKind) {
        public long bytes(FragKind kind) {
            return bytesByKind[kind.ordinal()];
        }
    }

    private PatternReceiver() {
    }

    public static Result receive(DevmemSocket in, IoWaiter waiter, NetcatPattern pattern, long dawdleMillis)
            throws Exception {
        ReceiveBatch batch = new ReceiveBatch(256);
        long total = 0;
        long[] byKind = new long[FragKind.values().length];
        Pollable[] one = {in};
        while (true) {
            int n = in.receive(batch);
            if (n == DevmemSocket.END_OF_STREAM) {
                return new Result(total, byKind);
            }
            if (n == 0) {
                waiter.await(one, 1, TimeUnit.MILLISECONDS.toNanos(200));
                continue;
            }
            if (dawdleMillis > 0 && (total >>> 26) != ((total + batch.bytes()) >>> 26)) {
                Thread.sleep(dawdleMillis);
            }
            for (int i = 0; i < n; i++) {
                long at = batch.streamPosition(i);
                if (at != total) {
                    throw new AssertionError("fragment at stream position " + at + ", expected " + total);
                }
                pattern.verify(batch.memory(i).asSlice(batch.offset(i), batch.length(i)), at);
                total += batch.length(i);
                byKind[batch.kind(i).ordinal()] += batch.length(i);
                in.release(batch.kind(i), batch.releaseKey(i));
            }
            in.flushReleases();
        }
    }
}
