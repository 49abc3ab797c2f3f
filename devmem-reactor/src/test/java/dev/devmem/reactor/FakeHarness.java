package dev.devmem.reactor;

import dev.devmem.api.DmabufSource;

import java.net.InetSocketAddress;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/** A fake backend, a receiver bound on it, and helpers to drive a peer and check for leaks. */
final class FakeHarness {
    private static final AtomicInteger PORTS = new AtomicInteger(20000);

    final FakeBackend backend;
    final int port = PORTS.incrementAndGet();
    final InetSocketAddress address = new InetSocketAddress("127.0.0.1", port);

    FakeHarness() {
        this(new FakeBackend());
    }

    FakeHarness(FakeBackend backend) {
        this.backend = backend;
    }

    /** A receiver binding a {@code dmabufBytes} emulated dmabuf on fake0 queue 0. */
    DevmemReceiver receiver(long dmabufBytes) {
        return DevmemReceiver.create(backend).interfaceName("fake0").rxQueues(0)
                .dmabuf(DmabufSource.emulated(dmabufBytes));
    }

    DevmemReceiver receiver() {
        return receiver(4L << 20);
    }

    /** Waits for the listener, then connects a peer; returns the server-side socket. */
    FakeBackend.FakeSocket peer() {
        Await.until("listener on " + port, () -> backend.byPort.containsKey(port));
        return backend.peerConnect(port);
    }

    /** Everything the subscription acquired has been released. */
    void awaitAllClosed() {
        Await.until("sockets, listeners, bindings and loops closed",
                () -> backend.openSockets() == 0 && backend.openListeners() == 0 && backend.openBindings() == 0
                        && backend.openWaiters() == 0,
                () -> "sockets " + backend.openSockets() + ", listeners " + backend.openListeners() + ", bindings "
                        + backend.openBindings() + ", waiters " + backend.openWaiters() + ", events " + backend.events);
        assertNoViolation();
    }

    /** Every I/O loop is parked with no wake-up pending (it did everything it could). */
    void awaitIdle() {
        Await.until("the I/O loops park", () -> backend.waiters.stream().allMatch(FakeBackend.FakeWaiter::idle));
    }

    void assertNoViolation() {
        assertThat(backend.violation.get()).as("backend contract violation").isNull();
    }

    /** The byte at every position of the frag is the pattern's. */
    static void assertPattern(dev.devmem.api.DevmemFrag f) {
        var seg = f.segment();
        long pos = f.streamPosition();
        for (int i = 0; i < f.length(); i++) {
            byte b = seg.get(java.lang.foreign.ValueLayout.JAVA_BYTE, i);
            if (b != FakeBackend.pattern(pos + i)) {
                throw new AssertionError("byte " + (pos + i) + " is " + b + ", expected " + FakeBackend.pattern(pos + i));
            }
        }
    }
}
