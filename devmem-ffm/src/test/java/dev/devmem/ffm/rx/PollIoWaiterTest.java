package dev.devmem.ffm.rx;

import dev.devmem.ffm.RxSocketOptions;
import dev.devmem.api.SyscallException;
import dev.devmem.api.spi.Pollable;
import dev.devmem.api.spi.ReceiveBatch;
import dev.devmem.ffm.testing.LoopbackPair;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The I/O thread's park: eventfd wake-ups from other threads, readable kernel sockets, and sockets
 * that only a release can unblock. Timeouts here only stop a hung run; nothing asserts a duration.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PollIoWaiterTest {
    private static final Pollable[] NONE = new Pollable[0];

    @Test
    void aWakeupFromAnotherThreadEndsAnAwaitWithoutTimeout() throws Exception {
        try (PollIoWaiter waiter = new PollIoWaiter()) {
            CountDownLatch started = new CountDownLatch(1);
            Thread t = Thread.ofPlatform().start(() -> {
                try {
                    started.await();
                    Thread.sleep(50); // let the main thread enter poll(2)
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                waiter.wakeup();
            });
            started.countDown();
            assertThat(waiter.awaitReady(NONE, 0, -1)).isEqualTo(1);
            t.join();
            // Drained: nothing pending any more.
            assertThat(waiter.awaitReady(NONE, 0, 0)).isZero();
        }
    }

    @Test
    void aWakeupBeforeAwaitIsNotLostAndSeveralCoalesce() throws Exception {
        try (PollIoWaiter waiter = new PollIoWaiter()) {
            waiter.wakeup();
            waiter.wakeup();
            waiter.wakeup();
            assertThat(waiter.awaitReady(NONE, 0, -1)).isEqualTo(1);
            assertThat(waiter.awaitReady(NONE, 0, 0)).isZero();
        }
    }

    @Test
    void aReadableSocketEndsAnAwait() throws Exception {
        try (LoopbackPair pair = LoopbackPair.open(); PollIoWaiter waiter = new PollIoWaiter();
             DevmemSocketImpl socket = new DevmemSocketImpl(pair.receiver(), RxSocketOptions.defaults())) {
            Pollable[] ps = {socket};
            assertThat(waiter.awaitReady(ps, 1, 0)).isZero();
            pair.peerSend(new byte[] {1, 2, 3});
            assertThat(waiter.awaitReady(ps, 1, -1)).isEqualTo(1);
            ReceiveBatch batch = new ReceiveBatch(4);
            assertThat(socket.receive(batch)).isEqualTo(1);
            assertThat(batch.length(0)).isEqualTo(3);
        }
    }

    @Test
    void aStalledSocketIsLeftOutUntilAReleaseAndAWakeup() throws Exception {
        try (LoopbackPair pair = LoopbackPair.open(); PollIoWaiter waiter = new PollIoWaiter();
             DevmemSocketImpl socket = new DevmemSocketImpl(pair.receiver(),
                     RxSocketOptions.defaults().withMaxHostFrags(1))) {
            pair.peerSend(new byte[100]);
            ReceiveBatch batch = new ReceiveBatch(4);
            assertThat(Receiving.whenReady(socket, batch)).isEqualTo(1);
            int key = batch.releaseKey(0);
            pair.peerSend(new byte[100]);
            // Readable in the kernel, but the socket cannot take it: poll must not spin on it.
            assertThat(socket.pollFd()).isEqualTo(-1);
            assertThat(socket.awaitsReleases()).as("the SPI says only a release helps").isTrue();
            Pollable[] ps = {socket};
            assertThat(waiter.awaitReady(ps, 1, 0)).isZero();
            socket.release(dev.devmem.api.FragKind.HOST, key);
            assertThat(socket.awaitsReleases()).isFalse();
            waiter.wakeup();
            assertThat(waiter.awaitReady(ps, 1, -1)).isGreaterThanOrEqualTo(1);
            assertThat(waiter.awaitReady(ps, 1, -1)).as("the socket itself is readable now").isEqualTo(1);
        }
    }

    @Test
    void manyEndpointsGrowThePollArray() throws Exception {
        List<LoopbackPair> pairs = new ArrayList<>();
        List<DevmemSocketImpl> sockets = new ArrayList<>();
        try (PollIoWaiter waiter = new PollIoWaiter()) {
            for (int i = 0; i < 40; i++) {
                LoopbackPair p = LoopbackPair.open();
                pairs.add(p);
                sockets.add(new DevmemSocketImpl(p.receiver(), RxSocketOptions.defaults().withHostSlabs(1, 4096)));
            }
            Pollable[] ps = sockets.toArray(Pollable[]::new);
            assertThat(waiter.awaitReady(ps, ps.length, 0)).isZero();
            pairs.get(37).peerSend(new byte[] {9});
            assertThat(waiter.awaitReady(ps, ps.length, -1)).isEqualTo(1);
            assertThatThrownBy(() -> waiter.awaitReady(new Pollable[] {new Pollable() { }}, 1, 0))
                    .isInstanceOf(IllegalArgumentException.class);
        } finally {
            sockets.forEach(DevmemSocketImpl::close);
            pairs.forEach(LoopbackPair::close);
        }
    }

    @Test
    void wakeupsRacingWithCloseNeverFailAndCloseIsIdempotent() throws Exception {
        for (int round = 0; round < 50; round++) {
            PollIoWaiter waiter = new PollIoWaiter();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            CountDownLatch go = new CountDownLatch(1);
            List<Thread> threads = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                threads.add(Thread.ofPlatform().start(() -> {
                    try {
                        go.await();
                        for (int k = 0; k < 200; k++) {
                            waiter.wakeup();
                        }
                    } catch (Throwable e) {
                        failure.set(e);
                    }
                }));
            }
            go.countDown();
            waiter.close();
            for (Thread t : threads) {
                t.join();
            }
            waiter.close();
            waiter.wakeup();
            assertThat(failure.get()).isNull();
            assertThatThrownBy(() -> waiter.awaitReady(NONE, 0, 0)).isInstanceOf(SyscallException.class);
        }
    }

    @Test
    void timeoutsRoundUpToWholeMilliseconds() {
        assertThat(PollIoWaiter.timeoutMillisOf(-1)).isEqualTo(-1);
        assertThat(PollIoWaiter.timeoutMillisOf(0)).isZero();
        assertThat(PollIoWaiter.timeoutMillisOf(1)).isEqualTo(1);
        assertThat(PollIoWaiter.timeoutMillisOf(1_000_000)).isEqualTo(1);
        assertThat(PollIoWaiter.timeoutMillisOf(1_000_001)).isEqualTo(2);
        assertThat(PollIoWaiter.timeoutMillisOf(Long.MAX_VALUE - 1)).isEqualTo(Integer.MAX_VALUE);
    }
}
