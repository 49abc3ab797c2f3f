package dev.devmem.reactor.loop;

import dev.devmem.api.DevmemException;
import dev.devmem.api.spi.IoWaiter;
import dev.devmem.api.spi.Pollable;
import org.jctools.queues.atomic.MpscUnboundedAtomicArrayQueue;
import reactor.util.Logger;
import reactor.util.Loggers;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Arrays;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One I/O thread ({@code devmem-io-N}, platform, daemon) with one {@link IoWaiter}: a duty-cycle
 * loop that gives every registered {@link Channel} a bounded pass, and parks in the waiter only when
 * no pass made progress and nobody signalled in the meantime.
 *
 * <p>Other threads never touch a channel's socket: they change atomics and call {@link #signal()},
 * which costs a volatile read when the loop is running and one wake-up when it is parked.
 */
public final class IoLoop implements Runnable {
    private static final Logger log = Loggers.getLogger(IoLoop.class);
    private static final AtomicInteger THREADS = new AtomicInteger();
    private static final VarHandle SIGNAL;
    private static final VarHandle PARKING;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            SIGNAL = l.findVarHandle(IoLoop.class, "signal", int.class);
            PARKING = l.findVarHandle(IoLoop.class, "parking", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final Thread thread;
    private final IoWaiter waiter;
    private final MpscUnboundedAtomicArrayQueue<Runnable> tasks = new MpscUnboundedAtomicArrayQueue<>(64);
    private final CountDownLatch terminated = new CountDownLatch(1);
    private Channel[] channels = new Channel[8];
    private int count;
    private Pollable[] pollSet = new Pollable[8];
    private volatile int signal;
    private volatile int parking;
    private volatile boolean stopping;
    private volatile long parks;
    /** Threads inside {@link IoWaiter#wakeup()}; the waiter is closed only when none is. */
    private final AtomicInteger wakers = new AtomicInteger();
    private volatile boolean waiterClosed;
    /** The loop thread is gone: tasks run on the threads that submit them. */
    private volatile boolean ended;

    IoLoop(IoWaiter waiter) {
        this.waiter = waiter;
        this.thread = new Thread(this, "devmem-io-" + THREADS.incrementAndGet());
        thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    public boolean inLoop() {
        return Thread.currentThread() == thread;
    }

    /**
     * Runs {@code task} on the loop thread, soon; on a loop that has ended, on the caller's thread
     * (so a late task, e.g. a subscription to a closed connection, still gets its answer).
     */
    public void execute(Runnable task) {
        tasks.offer(task);
        signal();
        if (ended) {
            synchronized (tasks) {
                runTasks();
            }
        }
    }

    /** Adds a channel; it gets its first pass soon. A stopped loop closes it at once. */
    public void register(Channel channel) {
        if (stopping) {
            channel.closeNow(new IllegalStateException("devmem I/O loop " + thread.getName() + " is stopped"));
            return;
        }
        execute(() -> add(channel));
    }

    /**
     * Tells the loop that some channel's state changed. Cheap when the loop is running: a volatile
     * read (and a write at most once per pass); one {@link IoWaiter#wakeup()} when it is parked.
     */
    public void signal() {
        if ((int) SIGNAL.getVolatile(this) == 0) {
            SIGNAL.setVolatile(this, 1);
            if ((int) PARKING.getVolatile(this) == 1) {
                wakeup();
            }
        }
    }

    /** Never calls into a closed waiter: its eventfd number may already belong to somebody else. */
    private void wakeup() {
        wakers.incrementAndGet();
        try {
            if (!waiterClosed) {
                waiter.wakeup();
            }
        } finally {
            wakers.decrementAndGet();
        }
    }

    /** How many times the loop parked (for tests: proves it does not spin). */
    long parks() {
        return parks;
    }

    void stop() {
        stopping = true;
        SIGNAL.setVolatile(this, 1);
        wakeup();
    }

    boolean awaitTermination(long millis) throws InterruptedException {
        return terminated.await(millis, java.util.concurrent.TimeUnit.MILLISECONDS);
    }

    private void add(Channel c) {
        if (count == channels.length) {
            channels = Arrays.copyOf(channels, count * 2);
            pollSet = new Pollable[count * 2];
        }
        channels[count++] = c;
    }

    /** One pass: tasks, every channel's work, and a park in poll when none made progress. False once stopping. */
    private boolean pass() throws DevmemException {
        SIGNAL.setVolatile(this, 0);
        runTasks();
        if (stopping) {
            return false;
        }
        boolean progress = false;
        for (int i = 0; i < count; i++) {
            Channel c = channels[i];
            try {
                progress |= c.work();
            } catch (Throwable t) {
                log.error("devmem channel failed on " + thread.getName(), t);
                safeClose(c, t);
            }
        }
        removeClosed();
        if (progress) {
            return true;
        }
        PARKING.setVolatile(this, 1);
        if ((int) SIGNAL.getVolatile(this) != 0 || !tasks.isEmpty() || stopping) {
            PARKING.setVolatile(this, 0);
            return true;
        }
        int n = 0;
        for (int i = 0; i < count; i++) {
            Pollable p = channels[i].pollable();
            if (p != null) {
                pollSet[n++] = p;
            }
        }
        parks++;
        try {
            waiter.await(pollSet, n, -1);
        } finally {
            PARKING.setVolatile(this, 0);
            Arrays.fill(pollSet, 0, n, null);
        }
        return true;
    }

    @Override
    public void run() {
        Throwable fatal = null;
        try {
            // The body is a method of its own: a loop entered once runs interpreted until an on-stack
            // replacement, which a few thousand passes per GiB never trigger; a method called per pass
            // is compiled after a few hundred calls like any other.
            while (pass()) {
                // next pass
            }
        } catch (DevmemException | RuntimeException | Error e) {
            fatal = e;
            log.error("devmem I/O loop " + thread.getName() + " failed; closing its channels", e);
        } finally {
            stopping = true;
            runTasks();
            Throwable cause = fatal != null ? fatal
                    : new IllegalStateException("devmem I/O loop " + thread.getName() + " stopped");
            for (int i = 0; i < count; i++) {
                safeClose(channels[i], cause);
            }
            count = 0;
            // tasks registered while we were closing: close their channels too
            runTasks();
            for (int i = 0; i < count; i++) {
                safeClose(channels[i], cause);
            }
            waiterClosed = true;
            awaitWakersLeft();
            waiter.close();
            ended = true;
            synchronized (tasks) {
                runTasks();
            }
            terminated.countDown();
        }
    }

    /**
     * The loop's one wait besides its park: once {@code waiterClosed} is set, a thread still inside
     * {@link #wakeup()} has at most its eventfd write left, so the loop spins until it is out before
     * closing the waiter (whose fd number could otherwise be reused under that write). A method of
     * its own so that a blocking-call detector can allow exactly this spin and nothing else.
     */
    private void awaitWakersLeft() {
        while (wakers.get() != 0) {
            Thread.onSpinWait();
        }
    }

    private static void safeClose(Channel c, Throwable cause) {
        try {
            if (!c.isClosed()) {
                c.closeNow(cause);
            }
        } catch (Throwable t) {
            log.error("devmem channel close failed", t);
        }
    }

    private void runTasks() {
        Runnable r;
        while ((r = tasks.poll()) != null) {
            try {
                r.run();
            } catch (Throwable t) {
                log.error("devmem loop task failed", t);
            }
        }
    }

    private void removeClosed() {
        int w = 0;
        for (int i = 0; i < count; i++) {
            Channel c = channels[i];
            if (!c.isClosed()) {
                channels[w++] = c;
            }
        }
        Arrays.fill(channels, w, count, null);
        count = w;
    }
}
