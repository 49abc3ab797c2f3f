package dev.devmem.ffm.emulated;

import dev.devmem.api.DmabufSource;
import dev.devmem.api.FragKind;
import dev.devmem.api.spi.DevmemSocket;
import dev.devmem.api.spi.ReceiveBatch;
import dev.devmem.ffm.rx.DevmemSocketImpl;
import dev.devmem.ffm.rx.DmabufViews;
import dev.devmem.ffm.RxSocketOptions;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The buffer pool of one binding shared by sockets on different threads: reference counts are
 * lock-free and buffers go back to the pool in batches, so these tests look for what a race there
 * would do. A buffer handed to two sockets at once (a lost count update, or a free-stack race) is
 * caught by an owner table and by the bytes: the other socket's pattern overwrites them.
 */
class SharedPoolConcurrencyTest {
    private static final int FRAG = 4096;

    /** Per socket: bytes received, stalls, frags verified. */
    private record Result(long bytes, long stalls, long frags) {
    }

    @Test
    void twoSocketsOnTwoThreadsReleasingConcurrentlyNeverShareABufferAndTheLedgerEndsExact() throws Exception {
        int buffers = 48; // small: both sockets starve and wait for each other's releases
        long total = 64L << 20;
        EmulatedNicConfig cfg = EmulatedNicConfig.defaults().withRxQueues(1);
        try (EmulatedNic nic = EmulatedNic.create(cfg);
             EmulatedRxBinding b = nic.bindRx(List.of(0), DmabufSource.emulated(buffers * (long) FRAG));
             Arena arena = Arena.ofShared()) {
            MemorySegment view = b.hostView().orElseThrow();
            MemorySegment pattern = arena.allocate(FRAG + 7);
            for (int i = 0; i < FRAG + 7; i++) {
                pattern.set(ValueLayout.JAVA_BYTE, i, SyntheticStream.patternByte(i));
            }
            AtomicIntegerArray owner = new AtomicIntegerArray(buffers);
            ExecutorService pool = Executors.newFixedThreadPool(2);
            try {
                List<Future<Result>> readers = new ArrayList<>();
                for (int me = 1; me <= 2; me++) {
                    int id = me;
                    DevmemSocket s = new DevmemSocketImpl(nic.synthetic(0, SyntheticStream.pattern(total)),
                            RxSocketOptions.defaults(), DmabufViews.of(b.id(), view));
                    readers.add(pool.submit(() -> read(s, id, 1000 + id, view, pattern, owner)));
                }
                long stalls = 0;
                for (Future<Result> f : readers) {
                    Result r = f.get(120, TimeUnit.SECONDS);
                    assertThat(r.bytes()).isEqualTo(total);
                    assertThat(r.frags()).isEqualTo(total / FRAG);
                    stalls += r.stalls();
                }
                assertThat(stalls).as("the pool ran dry, so releases and takes did race").isPositive();
            } finally {
                pool.shutdownNow();
            }
            for (int i = 0; i < buffers; i++) {
                assertThat(owner.get(i)).isZero();
            }
            assertThat(b.buffersHeld()).isZero();
            assertThat(b.buffersFree()).isEqualTo(buffers);
            assertThat(nic.stats().tokensOutstanding()).isZero();
            assertThat(nic.stats().tokensIssued()).isEqualTo(nic.stats().tokensReleased())
                    .isEqualTo(2 * total / FRAG);
        }
    }

    private static Result read(DevmemSocket s, int me, long seed, MemorySegment view, MemorySegment pattern,
                               AtomicIntegerArray owner) throws Exception {
        try (s) {
            SplittableRandom rng = new SplittableRandom(seed);
            ReceiveBatch batch = new ReceiveBatch(32);
            int cap = 24;
            int[] keys = new int[cap + 32];
            int[] bufs = new int[cap + 32];
            long[] positions = new long[cap + 32];
            int held = 0;
            long pos = 0;
            long stalls = 0;
            long frags = 0;
            while (true) {
                batch.limit(1 + rng.nextInt(batch.capacity()));
                int n = s.receive(batch);
                if (n == DevmemSocket.END_OF_STREAM) {
                    break;
                }
                if (n == 0) {
                    // The pool is empty: give everything back, then let the other socket run.
                    stalls++;
                    held = release(s, held, held, keys, bufs, positions, me, view, pattern, owner);
                    s.flushReleases();
                    Thread.yield();
                    continue;
                }
                for (int i = 0; i < n; i++) {
                    assertThat(batch.kind(i)).isEqualTo(FragKind.DMABUF);
                    assertThat(batch.streamPosition(i)).isEqualTo(pos);
                    assertThat(batch.length(i)).isEqualTo(FRAG);
                    int buf = (int) (batch.offset(i) / FRAG);
                    assertThat(owner.compareAndSet(buf, 0, me))
                            .as("buffer %d handed to socket %d while socket %d holds it", buf, me, owner.get(buf))
                            .isTrue();
                    keys[held] = batch.releaseKey(i);
                    bufs[held] = buf;
                    positions[held] = pos;
                    held++;
                    pos += FRAG;
                    frags++;
                }
                if (held >= cap || rng.nextInt(3) == 0) {
                    held = release(s, held, rng.nextInt(held + 1), keys, bufs, positions, me, view, pattern, owner);
                    if (rng.nextBoolean()) {
                        s.flushReleases();
                    }
                }
            }
            held = release(s, held, held, keys, bufs, positions, me, view, pattern, owner);
            s.flushReleases();
            assertThat(held).isZero();
            assertThat(s.outstanding()).isZero();
            assertThat(s.stats().tokensReturned()).isEqualTo(frags);
            return new Result(pos, stalls, frags);
        }
    }

    /** Verifies and releases the {@code count} oldest held frags; returns how many are still held. */
    private static int release(DevmemSocket s, int held, int count, int[] keys, int[] bufs, long[] positions, int me,
                               MemorySegment view, MemorySegment pattern, AtomicIntegerArray owner) throws Exception {
        for (int i = 0; i < count; i++) {
            long at = (long) bufs[i] * FRAG;
            long mismatch = view.asSlice(at, FRAG).mismatch(pattern.asSlice(positions[i] % 7, FRAG));
            assertThat(mismatch).as("bytes of buffer %d (stream %d) changed while socket %d held it", bufs[i],
                    positions[i], me).isEqualTo(-1L);
            // Before the release: once it is back, the other socket may take the buffer at once.
            assertThat(owner.compareAndSet(bufs[i], me, 0)).isTrue();
            s.release(FragKind.DMABUF, keys[i]);
        }
        System.arraycopy(keys, count, keys, 0, held - count);
        System.arraycopy(bufs, count, bufs, 0, held - count);
        System.arraycopy(positions, count, positions, 0, held - count);
        return held - count;
    }
}
