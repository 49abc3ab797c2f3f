package dev.devmem.reactor;

import dev.devmem.api.DevmemFrag;
import dev.devmem.api.Errno;
import dev.devmem.api.FragKind;
import dev.devmem.api.SyscallException;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.test.StepVerifier;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

/** The receive Flux over the fake backend: order, bytes, demand, budget, termination. */
class ReceiveTest {
    static final Duration T = Await.TIMEOUT;

    @Test
    void everyByteArrivesInStreamOrderAndEverythingIsReleasedInReverseOrder() {
        FakeHarness h = new FakeHarness();
        long total = (3L << 20) + 123;
        AtomicLong next = new AtomicLong();
        reactor.core.publisher.Mono<Long> bytes = h.receiver().receiveOne(h.address)
                .doOnNext(f -> {
                    assertThat(f.streamPosition()).isEqualTo(next.getAndAdd(f.length()));
                    assertThat(f.kind()).isEqualTo(FragKind.DMABUF);
                    assertThat(f.dmabufId()).isEqualTo(h.backend.bindings.get(0).id);
                    assertThat(Thread.currentThread().getName()).startsWith("devmem-io-");
                    FakeHarness.assertPattern(f);
                    f.release();
                    assertThat(f.isReleased()).isTrue();
                })
                .map(f -> (long) f.length())
                .reduce(0L, Long::sum);
        StepVerifier.create(bytes)
                .then(() -> {
                    FakeBackend.FakeSocket s = h.peer();
                    s.send(total);
                    s.shutdownPeer();
                })
                .expectNext(total)
                .expectComplete()
                .verify(T);
        h.awaitAllClosed();
        assertThat(h.backend.events).containsExactly("bind", "listen", "listener-close", "socket-close", "unbind");
        FakeBackend.FakeSocket s = h.backend.sockets.get(0);
        assertThat(s.unknownReleases).isZero();
        assertThat(s.tokensReturned).as("every token went back by DONTNEED, none by close")
                .isEqualTo(s.fragsByKind[FragKind.DMABUF.ordinal()]);
    }

    @Test
    void requestIsHonouredExactlyAndNothingIsReadWithoutDemand() {
        FakeHarness h = new FakeHarness();
        List<DevmemFrag> got = Collections.synchronizedList(new ArrayList<>());
        AtomicReference<FakeBackend.FakeSocket> sock = new AtomicReference<>();
        StepVerifier.create(h.receiver().receiveOne(h.address).doOnNext(got::add), 0)
                .then(() -> {
                    sock.set(h.peer());
                    sock.get().send(100 * 4096);
                })
                .then(() -> awaitParkedWith(h, () -> true))
                .then(() -> assertThat(sock.get().recvCalls).as("no recvmsg at zero demand").isZero())
                .thenRequest(3)
                .expectNextCount(3)
                .then(() -> awaitParkedWith(h, () -> true))
                .then(() -> assertThat(received(sock.get())).as("exactly the 3 requested were read").isEqualTo(3))
                .thenRequest(2)
                .expectNextCount(2)
                .then(() -> awaitParkedWith(h, () -> true))
                .then(() -> assertThat(received(sock.get())).isEqualTo(5))
                .then(() -> got.forEach(DevmemFrag::release))
                .thenCancel()
                .verify(T);
        h.awaitAllClosed();
        assertThat(h.backend.sockets.get(0).unknownReleases).isZero();
    }

    @Test
    void tokenBudgetIsNeverExceededAndReadingResumesWhenFragsComeBack() {
        FakeHarness h = new FakeHarness();
        int budget = 8;
        List<DevmemFrag> held = Collections.synchronizedList(new ArrayList<>());
        AtomicLong worst = new AtomicLong();
        AtomicReference<FakeBackend.FakeSocket> sock = new AtomicReference<>();
        Flux<DevmemFrag> frags = h.receiver().tokenBudget(budget).batchSize(3).listen(h.address)
                .flatMap(c -> c.receive().doOnNext(f -> {
                    worst.accumulateAndGet(c.stats().fragsOutstanding(), Math::max);
                    held.add(f);
                }));
        StepVerifier.create(frags)
                .then(() -> {
                    sock.set(h.peer());
                    sock.get().send(40 * 4096);
                })
                .expectNextCount(budget)
                .then(() -> awaitParkedWith(h, () -> true))
                .then(() -> assertThat(received(sock.get())).as("stopped at the budget").isEqualTo(budget))
                .then(() -> releaseFirst(held, 5))
                .expectNextCount(5)
                .then(() -> releaseFirst(held, held.size()))
                .expectNextCount(budget)
                .then(() -> releaseFirst(held, held.size()))
                .expectNextCount(budget)
                .then(() -> releaseFirst(held, held.size()))
                .expectNextCount(budget)
                .then(() -> releaseFirst(held, held.size()))
                .expectNextCount(40 - 8 - 5 - 8 - 8 - 8)
                .then(() -> releaseFirst(held, held.size()))
                .thenCancel()
                .verify(T);
        h.awaitAllClosed();
        assertThat(worst.get()).isLessThanOrEqualTo(budget);
        assertThat(h.backend.sockets.get(0).maxHeld.get()).isLessThanOrEqualTo(budget);
    }

    @Test
    void cancelWakesTheParkedLoopAndClosesTheSocketBeforeUnbindingWhenThePeerIsSilent() {
        FakeHarness h = new FakeHarness();
        AtomicLong n = new AtomicLong();
        Disposable d = h.receiver().receiveOne(h.address).doOnNext(f -> {
            f.release();
            n.incrementAndGet();
        }).subscribe();
        FakeBackend.FakeSocket s = h.peer();
        s.send(10 * 4096);
        Await.until("10 frags", () -> n.get() == 10);
        awaitParkedWith(h, () -> true); // the loop sleeps: only the cancel's wake-up can end it
        d.dispose();
        Await.until("socket closed after cancel", () -> s.closed);
        h.awaitAllClosed();
        assertThat(h.backend.events).endsWith("socket-close", "unbind");
    }

    @Test
    void peerResetArrivesAsTypedErrorAndReleasesEverything() {
        FakeHarness h = new FakeHarness();
        StepVerifier.create(h.receiver().receiveOne(h.address).doOnNext(DevmemFrag::release))
                .then(() -> {
                    FakeBackend.FakeSocket s = h.peer();
                    s.send(3 * 4096);
                })
                .expectNextCount(3)
                .then(() -> h.backend.sockets.get(0).failNextReceive(new SyscallException("recvmsg", Errno.ECONNRESET)))
                .expectErrorSatisfies(e -> assertThat(e).isInstanceOfSatisfying(SyscallException.class,
                        se -> assertThat(se.errno()).isEqualTo(Errno.ECONNRESET)))
                .verify(T);
        h.awaitAllClosed();
    }

    @Test
    void bindFailureArrivesAsTypedErrorAndUndoesTheNicSetup() {
        FakeHarness h = new FakeHarness();
        List<String> nic = Collections.synchronizedList(new ArrayList<>());
        h.backend.failBind = new SyscallException("netdev bind-rx", Errno.EOPNOTSUPP);
        StepVerifier.create(h.receiver().nicSetup(t -> {
                    nic.add("apply " + t.interfaceName() + " " + t.rxQueues());
                    return () -> nic.add("undo");
                }).receiveOne(h.address))
                .expectErrorSatisfies(e -> assertThat(e).isInstanceOfSatisfying(SyscallException.class,
                        se -> assertThat(se.errno()).isEqualTo(Errno.EOPNOTSUPP)))
                .verify(T);
        assertThat(nic).containsExactly("apply fake0 [0]", "undo");
        h.awaitAllClosed();
    }

    @Test
    void consumerThatThrowsCancelsAndNothingLeaks() {
        FakeHarness h = new FakeHarness();
        AtomicReference<Throwable> error = new AtomicReference<>();
        AtomicReference<DevmemConnection> conn = new AtomicReference<>();
        h.receiver().closeGracePeriod(Duration.ofMillis(20)).listen(h.address)
                .flatMap(c -> {
                    conn.set(c);
                    return c.receive();
                })
                .subscribe(f -> {
                    throw new IllegalStateException("consumer bug");
                }, error::set);
        FakeBackend.FakeSocket s = h.peer();
        s.send(20 * 4096);
        Await.until("the consumer's error", () -> error.get() != null);
        assertThat(error.get()).hasMessage("consumer bug");
        h.awaitAllClosed();
        ConnectionStats st = conn.get().stats();
        assertThat(st.closed()).isTrue();
        assertThat(st.fragsOutstanding()).isZero();
        assertThat(st.fragsReceived()).isEqualTo(st.fragsReturned() + st.fragsReclaimed());
        assertThat(st.fragsReclaimed()).as("the frag the consumer died holding").isEqualTo(1);
    }

    @Test
    void onlyOneReceiveSubscriberPerConnection() {
        FakeHarness h = new FakeHarness();
        AtomicReference<DevmemConnection> conn = new AtomicReference<>();
        AtomicReference<Disposable> inner = new AtomicReference<>();
        Disposable d = h.receiver().listen(h.address).subscribe(c -> {
            conn.set(c);
            inner.set(c.receive().subscribe(f -> { }, e -> { }));
        });
        h.peer();
        Await.until("connection", () -> inner.get() != null);
        StepVerifier.create(conn.get().receive()).expectError(IllegalStateException.class).verify(T);
        d.dispose();
        h.awaitIdle();
        assertThat(h.backend.openSockets()).as("a subscribed connection outlives the listen subscription").isEqualTo(1);
        assertThat(h.backend.openBindings()).isEqualTo(1);
        assertThat(h.backend.openListeners()).isZero();
        inner.get().dispose();
        h.awaitAllClosed();
        assertThat(h.backend.events).containsExactly("bind", "listen", "listener-close", "socket-close", "unbind");
    }

    // ------------------------------------------------------------------ helpers

    static long received(FakeBackend.FakeSocket s) {
        synchronized (s.backend.lock) {
            long n = 0;
            for (long k : s.fragsByKind) {
                n += k;
            }
            return n;
        }
    }

    static void releaseFirst(List<DevmemFrag> held, int n) {
        List<DevmemFrag> copy;
        synchronized (held) {
            copy = new ArrayList<>(held.subList(0, n));
            held.subList(0, n).clear();
        }
        copy.forEach(DevmemFrag::release);
    }

    /** Waits until every loop is parked with no wake-up pending: it did all it could, and had its chance to misbehave. */
    static void awaitParkedWith(FakeHarness h, java.util.function.BooleanSupplier also) {
        h.awaitIdle();
        Await.until("condition while idle", also);
    }
}
