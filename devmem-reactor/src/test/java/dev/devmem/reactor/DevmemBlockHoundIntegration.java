package dev.devmem.reactor;

import dev.devmem.reactor.loop.IoLoop;
import reactor.blockhound.BlockHound;
import reactor.blockhound.integration.BlockHoundIntegration;

/**
 * BlockHound's rules for this module's tests (installed for every test by BlockHound's JUnit
 * platform listener, which finds this class through {@code META-INF/services}; Reactor's own
 * integration already marks its non-blocking scheduler threads, e.g. {@code parallel-N}).
 *
 * <p>A {@code devmem-io-N} loop thread runs recvmsg, releases and every {@code onNext}; it may block
 * in exactly one place, its park point: {@code IoWaiter.await}. The real waiter parks in
 * {@code poll(2)} through a foreign downcall, which BlockHound cannot see; the fake backend's
 * waiter parks in {@code Object.wait}, which it can, so that one call site is allowed and nothing
 * else: a sleep, a lock wait, a blocking queue or blocking I/O anywhere else on a loop thread fails
 * the test with {@link reactor.blockhound.BlockingOperationError}. The terminating loop's spin
 * while concurrent wakeups leave ({@code IoLoop.awaitWakersLeft}, after its last signal) is allowed
 * too.
 */
public final class DevmemBlockHoundIntegration implements BlockHoundIntegration {
    static final String LOOP_THREAD_PREFIX = "devmem-io-";

    @Override
    public void applyTo(BlockHound.Builder builder) {
        builder.nonBlockingThreadPredicate(current -> current.or(t -> t.getName().startsWith(LOOP_THREAD_PREFIX)));
        builder.allowBlockingCallsInside("dev.devmem.ffm.rx.PollIoWaiter", "await");
        builder.allowBlockingCallsInside(FakeBackend.FakeWaiter.class.getName(), "await");
        // The terminating loop's bounded spin until concurrent wakeups have left (after its last onNext).
        builder.allowBlockingCallsInside(IoLoop.class.getName(), "awaitWakersLeft");
        // A test's deliberately slow consumer (it sleeps in onNext to push back on the sender).
        builder.allowBlockingCallsInside(SenderTest.class.getName(), "sleep");
        // A test's deliberate hand-off and spin in onNext, so that a release on the loop races one on another thread.
        builder.allowBlockingCallsInside(ReleaseTest.class.getName(), "handOffAndSpin");
    }
}
