package dev.devmem.reactor.loop;

import dev.devmem.api.spi.ThreadContextCapture;
import reactor.core.publisher.Mono;

import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * The threads that acquire and release what a subscription holds (NIC setup, bindings, sockets),
 * for receivers and senders alike: binding and connecting block, so they never run on a Reactor or
 * I/O thread. Daemon threads, made on demand and kept a while.
 */
public final class SetupThreads {
    private static final AtomicInteger NEXT = new AtomicInteger();
    private static final ExecutorService SETUP = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "devmem-setup-" + NEXT.incrementAndGet());
        t.setDaemon(true);
        return t;
    });

    private SetupThreads() {
    }

    /** Runs {@code task} on a setup thread (teardown, which may block). */
    public static void execute(Runnable task) {
        SETUP.execute(task);
    }

    /**
     * What {@code open} returns, opened on a setup thread in the subscriber's thread context (its
     * network namespace: sockets belong to the namespace of the thread that creates them). If the
     * subscriber cancels while it is being opened, {@code release} gets it as soon as it is open: it
     * is never lost.
     */
    public static <T> Mono<T> open(Class<T> type, Callable<? extends T> open, Consumer<? super T> release) {
        return Mono.<T>create(sink -> {
            AtomicInteger state = new AtomicInteger(); // 0 opening, 1 cancelled, 2 handed over
            sink.onCancel(() -> state.compareAndSet(0, 1));
            ThreadContextCapture.Captured context;
            try {
                context = SpiServices.captureThreadContext();
            } catch (Throwable t) {
                sink.error(t);
                return;
            }
            SETUP.execute(() -> {
                T opened;
                try (context) {
                    context.enter();
                    opened = open.call();
                } catch (Throwable t) {
                    sink.error(t);
                    return;
                }
                if (state.compareAndSet(0, 2)) {
                    sink.success(opened);
                } else {
                    release.accept(opened);
                }
            });
        }).doOnDiscard(type, release);
    }
}
