package dev.devmem.reactor;

import dev.devmem.api.spi.TxBinding;
import dev.devmem.reactor.tx.RegionRing;
import dev.devmem.reactor.tx.SenderSide;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.test.StepVerifier;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The ring allocator behind TxBuffer (RegionRing): a region is handed out again only after its slice is done. */
class TxBufferTest {

    record Binding(long size, MemorySegment view) implements TxBinding {
        @Override
        public int id() {
            return 42;
        }

        @Override
        public String interfaceName() {
            return "test0";
        }

        @Override
        public int ifindex() {
            return 1;
        }

        @Override
        public long dmabufSize() {
            return size;
        }

        @Override
        public Optional<MemorySegment> hostView() {
            return Optional.ofNullable(view);
        }

        @Override
        public boolean isOpen() {
            return true;
        }

        @Override
        public void close() {
        }
    }

    private static TxBuffer buffer(long size) {
        return new TxBuffer(ring(size));
    }

    private static RegionRing ring(long size) {
        return new RegionRing(new Binding(size, Arena.ofAuto().allocate(size)));
    }

    /** What the sender does when it takes a slice emitted to it. */
    private static boolean take(TxSlice s) {
        return SenderSide.take(s.region());
    }

    /** What the sender does when the kernel completed the last byte of a slice it took. */
    private static void finish(TxSlice s) {
        SenderSide.finish(s.region());
    }

    /** What the sender does with a slice it sent and the kernel completed. */
    private static void complete(TxSlice s) {
        assertThat(take(s)).isTrue();
        finish(s);
    }

    @Test
    void regionsAreHandedOutInOrderAndComeBackOnlyWhenDone() {
        TxBuffer b = buffer(1000);
        TxSlice a = b.tryLease(400);
        TxSlice c = b.tryLease(400);
        assertThat(a.offset()).isZero();
        assertThat(c.offset()).isEqualTo(400);
        assertThat(b.tryLease(400)).as("200 bytes left at the end, nothing free at the start").isNull();
        assertThat(b.leasedBytes()).isEqualTo(800);
        assertThat(take(c)).isTrue(); // with the sender: not free
        assertThat(b.tryLease(400)).isNull();
        complete(a);
        TxSlice d = b.tryLease(400);
        assertThat(d.offset()).as("wrapped to the start, which a's completion freed").isZero();
        assertThat(b.tryLease(1)).as("wrapped: the room ends where c begins, and c is in flight").isNull();
        finish(c);
        assertThat(b.tryLease(600)).as("c done: [400, 1000) is free").extracting(TxSlice::offset).isEqualTo(400L);
    }

    @Test
    void aRegionFreedOutOfOrderWaitsForTheOlderOnes() {
        TxBuffer b = buffer(300);
        TxSlice x = b.tryLease(100);
        TxSlice y = b.tryLease(100);
        TxSlice z = b.tryLease(100);
        y.release();
        z.release();
        assertThat(b.tryLease(1)).as("x still out, so y and z are not reclaimed yet").isNull();
        assertThat(b.outstandingSlices()).isEqualTo(3);
        x.release();
        assertThat(b.outstandingSlices()).isZero();
        assertThat(b.leasedBytes()).isZero();
        assertThat(b.tryLease(300).offset()).isZero();
    }

    @Test
    void aLeaseWaitsForRoomFirstComeFirstServed() {
        TxBuffer b = buffer(100);
        TxSlice first = b.tryLease(100);
        List<TxSlice> got = new ArrayList<>();
        Disposable w1 = b.lease(60).subscribe(got::add);
        Disposable w2 = b.lease(40).subscribe(got::add);
        assertThat(b.waitingLeases()).isEqualTo(2);
        assertThat(b.tryLease(1)).as("waiters go first").isNull();
        complete(first);
        assertThat(got).extracting(TxSlice::offset).containsExactly(0L, 60L);
        assertThat(b.waitingLeases()).isZero();
        w1.dispose();
        w2.dispose();
        assertThat(got).allMatch(TxSlice::isLeased);
    }

    @Test
    void aCancelledLeaseNeverHoldsARegion() {
        TxBuffer b = buffer(100);
        TxSlice first = b.tryLease(100);
        Disposable w = b.lease(100).subscribe(s -> {
            throw new AssertionError("cancelled lease got " + s);
        });
        w.dispose();
        assertThat(b.waitingLeases()).isZero();
        complete(first);
        assertThat(b.leasedBytes()).isZero();
        assertThat(b.tryLease(100)).isNotNull();
    }

    @Test
    void closingFailsWaitingLeasesAndRefusesNewOnes() {
        RegionRing ring = ring(100);
        TxBuffer b = new TxBuffer(ring);
        b.tryLease(100);
        AtomicReference<Throwable> error = new AtomicReference<>();
        b.lease(50).subscribe(s -> { }, error::set);
        ring.close(); // the send subscription ended
        assertThat(error.get()).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
        assertThatThrownBy(() -> b.tryLease(1)).isInstanceOf(IllegalStateException.class);
        StepVerifier.create(b.lease(1)).expectError(IllegalStateException.class).verify(Duration.ofSeconds(5));
    }

    @Test
    void aSliceIsWritableOnlyWhileLeased() {
        TxBuffer b = buffer(100);
        TxSlice s = b.tryLease(10);
        s.segment().fill((byte) 7);
        assertThat(take(s)).isTrue();
        assertThat(s.isLeased()).isFalse();
        assertThatThrownBy(s::segment).isInstanceOf(IllegalStateException.class).hasMessageContaining("no longer leased");
        s.release();
        assertThat(b.leasedBytes()).as("release does nothing once the sender has it").isEqualTo(10);
        assertThat(take(s)).as("a slice is taken once").isFalse();
        finish(s);
        assertThat(b.leasedBytes()).isZero();
    }

    @Test
    void deviceMemoryHasNoHostView() {
        TxBuffer b = new TxBuffer(new RegionRing(new Binding(4096, null)));
        assertThat(b.hostMappable()).isFalse();
        TxSlice s = b.tryLease(10);
        assertThatThrownBy(s::segment).isInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void sizesOutsideTheBufferAreRefused() {
        TxBuffer b = buffer(100);
        assertThatThrownBy(() -> b.tryLease(0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> b.tryLease(101)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void randomLeasesNeverOverlapALiveRegion() {
        SplittableRandom rnd = new SplittableRandom(7);
        TxBuffer b = buffer(10_000);
        List<TxSlice> live = new ArrayList<>();
        for (int round = 0; round < 20_000; round++) {
            if (rnd.nextInt(3) != 0) {
                TxSlice s = b.tryLease(1 + rnd.nextInt(3000));
                if (s != null) {
                    for (TxSlice o : live) {
                        boolean disjoint = s.offset() + s.length() <= o.offset() || o.offset() + o.length() <= s.offset();
                        assertThat(disjoint).as("%s overlaps live %s", s, o).isTrue();
                    }
                    assertThat(s.offset() + s.length()).isLessThanOrEqualTo(10_000);
                    live.add(s);
                }
            } else if (!live.isEmpty()) {
                TxSlice s = live.remove(rnd.nextInt(live.size()));
                if (rnd.nextBoolean()) {
                    s.release();
                } else {
                    complete(s);
                }
            }
        }
        live.forEach(TxSlice::release);
        assertThat(b.leasedBytes()).isZero();
        assertThat(b.outstandingSlices()).isZero();
    }
}
