package dev.devmem.cli;

import java.io.PrintWriter;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The live progress line: redrawn in place with {@code \r} four times a second by a timer thread of
 * its own, never from the I/O thread. Only on a terminal ({@link #isTerminal()}); otherwise it draws
 * nothing, so logs and pipes get only the summary.
 */
final class Progress implements AutoCloseable {
    static final long PERIOD_MILLIS = 250;

    private final PrintWriter err;
    private final Supplier<String> line;
    private final ScheduledExecutorService timer;
    private int lastWidth;
    private boolean closed;

    private Progress(boolean enabled, PrintWriter err, Supplier<String> line) {
        this.err = err;
        this.line = line;
        if (enabled) {
            this.timer = Executors.newSingleThreadScheduledExecutor(
                    r -> Thread.ofPlatform().daemon().name("devmem-progress").unstarted(r));
            timer.scheduleAtFixedRate(this::draw, PERIOD_MILLIS, PERIOD_MILLIS, TimeUnit.MILLISECONDS);
        } else {
            this.timer = null;
            this.closed = true;
        }
    }

    /**
     * Starts drawing {@code line} (called on the timer thread; it returns {@code null} while there is
     * nothing to show) when {@code enabled}; otherwise a progress that draws nothing and starts no thread.
     */
    static Progress start(boolean enabled, PrintWriter err, Supplier<String> line) {
        return new Progress(enabled, err, line);
    }

    /** Whether stderr/stdout are a terminal: {@code System.console()} exists and is one (JDK 22+ has a console for pipes too). */
    static boolean isTerminal() {
        java.io.Console c = System.console();
        return c != null && c.isTerminal();
    }

    private synchronized void draw() {
        if (closed) {
            return;
        }
        String s;
        try {
            s = line.get();
        } catch (RuntimeException e) {
            return; // a progress line is never worth failing for
        }
        if (s == null) {
            return;
        }
        int pad = Math.max(0, lastWidth - s.length());
        err.print("\r" + s + " ".repeat(pad));
        err.flush();
        lastWidth = s.length();
    }

    /** Stops the timer and wipes the line, so that what follows starts on a clean line. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (timer != null) {
            timer.shutdownNow();
        }
        if (lastWidth > 0) {
            err.print("\r" + " ".repeat(lastWidth) + "\r");
            err.flush();
        }
    }
}
