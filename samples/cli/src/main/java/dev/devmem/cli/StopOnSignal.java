package dev.devmem.cli;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * SIGTERM or SIGINT while a command runs: the JVM's shutdown hook asks the command to stop (a
 * cancel, so every frag comes back and the socket and binding close) and holds the JVM until the
 * command has printed its summary, or {@link #GRACE} has passed. The process still ends with the
 * signal's status (143, 130), as a shell expects.
 */
final class StopOnSignal implements AutoCloseable {
    static final Duration GRACE = Duration.ofSeconds(10);

    private final CountDownLatch done = new CountDownLatch(1);
    private volatile Runnable stop = () -> { };
    private final Thread hook = new Thread(this::onShutdown, "devmem-stop-on-signal");

    StopOnSignal() {
        Runtime.getRuntime().addShutdownHook(hook);
    }

    /** What a signal does: called once, on the hook's thread. */
    void onSignal(Runnable action) {
        stop = action;
    }

    private void onShutdown() {
        System.err.println("devmem: stopping (signal): cancelling the receive, returning every frag");
        System.err.flush();
        stop.run();
        try {
            done.await(GRACE.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The command has finished (summary printed): a shutdown may go ahead, and no hook is left behind. */
    @Override
    public void close() {
        done.countDown();
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            // the hook is running: it returns now that done is counted down
        }
    }
}
