package dev.devmem.cli;

import dev.devmem.api.DevmemException;
import dev.devmem.api.FragKind;
import dev.devmem.api.RxBindingSpec;
import dev.devmem.api.spi.DevmemBackend;
import dev.devmem.api.spi.RxBinding;
import dev.devmem.reactor.ConnectionStats;
import dev.devmem.reactor.DevmemConnection;
import dev.devmem.reactor.DevmemReceiver;
import dev.devmem.reactor.NicSetup;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import reactor.core.Exceptions;

import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * One receive as {@code recv} and {@code demo} run it: a {@link DevmemReceiver} (with a meter
 * registry of its own) listens, accepts one connection, and streams its {@code Flux<DevmemFrag>}
 * through a {@link StreamChecker} on the I/O thread until the peer ends the stream or the byte limit
 * is reached. The summary numbers come from the connection's {@link ConnectionStats} and the
 * receiver's meters, read after the connection has closed.
 */
final class ReceiveSession {
    /** How long to wait for a terminated connection to close and account for every frag. */
    static final Duration CLOSE_WAIT = Duration.ofSeconds(30);

    private final String command;
    private final DevmemBackend backend;
    private final InetSocketAddress listen;
    private final RxBindingSpec binding;
    private final String dmabufLabel;
    private final NicSetup nicSetup;
    private final StreamChecker checker;
    private final PrintWriter err;
    private final boolean progress;
    private final Consumer<InetSocketAddress> onListening;

    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private final AtomicReference<DevmemConnection> connection = new AtomicReference<>();
    private final AtomicReference<RxBinding> bound = new AtomicReference<>();
    private final AtomicReference<InetSocketAddress> listening = new AtomicReference<>();
    private volatile long startNanos;

    /**
     * @param binding     what to bind, or {@code null} for none
     * @param dmabufLabel the dmabuf source as the user named it ({@code udmabuf}, {@code emulated}, ...)
     * @param onListening called (on a setup thread) with the listener's real address once a peer can connect
     */
    ReceiveSession(String command, DevmemBackend backend, InetSocketAddress listen, RxBindingSpec binding,
                   String dmabufLabel, NicSetup nicSetup, StreamChecker checker, PrintWriter err, boolean progress,
                   Consumer<InetSocketAddress> onListening) {
        this.command = command;
        this.backend = Objects.requireNonNull(backend, "backend");
        this.listen = Objects.requireNonNull(listen, "listen");
        this.binding = binding;
        this.dmabufLabel = Objects.requireNonNull(dmabufLabel, "dmabufLabel");
        this.nicSetup = Objects.requireNonNull(nicSetup, "nicSetup");
        this.checker = Objects.requireNonNull(checker, "checker");
        this.err = err;
        this.progress = progress;
        this.onListening = Objects.requireNonNull(onListening, "onListening");
    }

    /**
     * What happened: the numbers for the summary, the data error if the stream was wrong, and the
     * connection error if the accepted connection failed (a reset peer: ECONNRESET) before its end.
     */
    record Result(String backend, InetSocketAddress listen, InetSocketAddress peer, RxBindingSpec binding,
                  int bindingId, StreamChecker checker, ConnectionStats stats, MeterReadings meters,
                  double seconds, DataMismatchException dataError, DevmemException connectionError,
                  boolean interrupted) {

        Result(String backend, InetSocketAddress listen, InetSocketAddress peer, RxBindingSpec binding,
               int bindingId, StreamChecker checker, ConnectionStats stats, MeterReadings meters,
               double seconds, DataMismatchException dataError) {
            this(backend, listen, peer, binding, bindingId, checker, stats, meters, seconds, dataError, null, false);
        }

        /** The failure to report after the summary (exit code by its type), or {@code null}. */
        Exception failure() {
            return dataError != null ? dataError : connectionError;
        }

        long bytes() {
            return checker.bytes();
        }

        double bytesPerSecond() {
            return seconds > 0 ? bytes() / seconds : 0;
        }
    }

    /**
     * Runs the receive to its end.
     *
     * @return the result, also when the data was wrong ({@link Result#dataError()}) or the accepted
     *         connection failed ({@link Result#connectionError()}): the bytes before still count
     * @throws Exception the backend's failure before any connection (binding, listening) as the library typed it
     */
    private final reactor.core.publisher.Sinks.Empty<Void> stopped = reactor.core.publisher.Sinks.empty();
    private volatile boolean stopRequested;

    Result run() throws Exception {
        ObservedBackend observed = new ObservedBackend(backend, b -> {
            bound.set(b);
            status("bound " + Sizes.human(b.dmabufSize()) + " dmabuf as id " + b.id() + " to " + b.interfaceName()
                    + " rx queue" + (b.rxQueues().size() == 1 ? " " : "s ") + join(b.rxQueues()));
        }, a -> {
            listening.set(a);
            status("listening on " + HostPort.format(a) + " (" + backend.name() + " backend, "
                    + (binding == null ? "no dmabuf binding: plain TCP" : dmabufLabel + " dmabuf on "
                    + binding.interfaceName() + " rx queue" + (binding.rxQueues().size() == 1 ? " " : "s ")
                    + join(binding.rxQueues())) + ")");
            onListening.accept(a);
        });
        DevmemReceiver receiver = DevmemReceiver.create(observed).meterRegistry(registry).nicSetup(nicSetup);
        if (binding != null) {
            receiver = receiver.binding(binding);
        }
        MeterReadings meters = new MeterReadings(registry);
        DataMismatchException dataError = null;
        DevmemException connectionError = null;
        Progress drawing = Progress.start(progress, err, new ProgressLine(connection::get, meters, () -> startNanos));
        try {
            receiver.listen(listen).take(1)
                    .concatMap(c -> {
                        startNanos = System.nanoTime();
                        connection.set(c);
                        status("connection from " + (c.remoteAddress() == null ? "an unknown peer"
                                : HostPort.format(c.remoteAddress())));
                        return c.receive(frags -> frags.doOnNext(checker).takeUntil(f -> checker.reachedLimit()))
                                .then();
                    })
                    .takeUntilOther(stopped.asMono())
                    .blockLast();
        } catch (RuntimeException e) {
            Throwable t = Exceptions.unwrap(e); // checked failures of the library arrive wrapped
            if (t instanceof DataMismatchException d) {
                dataError = d;
            } else if (t instanceof DevmemException de && connection.get() != null) {
                connectionError = de; // e.g. the peer reset (ECONNRESET): summarised with what came before
            } else if (t instanceof Exception ex) {
                throw ex;
            } else {
                throw (Error) t;
            }
        } finally {
            drawing.close(); // wiped before the summary
        }
        long endNanos = System.nanoTime();
        DevmemConnection c = connection.get();
        ConnectionStats stats = null;
        if (c != null) {
            c.onClose().block(CLOSE_WAIT);
            stats = c.stats();
        }
        if (dataError == null && connectionError == null && !stopRequested && checker.limit() != StreamChecker.UNLIMITED
                && !checker.reachedLimit()) {
            dataError = new DataMismatchException("the stream ended after " + checker.bytes() + " bytes, short of the "
                    + checker.limit() + " asked for (--bytes)");
        }
        RxBinding b = bound.get();
        return new Result(backend.name(), listening.get(), c == null ? null : c.remoteAddress(), binding,
                b == null ? 0 : b.id(), checker, stats, meters,
                c == null ? 0 : (endNanos - startNanos) / 1e9, dataError, connectionError,
                stopRequested);
    }

    /**
     * Ends the receive as a cancel from any thread (the JVM's shutdown hook on SIGTERM or SIGINT):
     * the connection stops reading, the frags it holds come back, the socket and the binding close,
     * and {@link #run()} returns the summary of what arrived.
     */
    void stop() {
        stopRequested = true;
        stopped.tryEmitEmpty();
    }

    private void status(String what) {
        err.println("devmem " + command + ": " + what);
        err.flush();
    }

    static String join(java.util.List<Integer> queues) {
        StringBuilder s = new StringBuilder();
        for (int q : queues) {
            if (!s.isEmpty()) {
                s.append(',');
            }
            s.append(q);
        }
        return s.toString();
    }

    /** The live line: throughput since the last redraw, bytes, frags by kind, tokens outstanding, DONTNEED calls. */
    static final class ProgressLine implements java.util.function.Supplier<String> {
        private final java.util.function.Supplier<DevmemConnection> connection;
        private final MeterReadings meters;
        private final java.util.function.LongSupplier start;
        private long lastBytes;
        private long lastNanos;

        ProgressLine(java.util.function.Supplier<DevmemConnection> connection, MeterReadings meters,
                     java.util.function.LongSupplier start) {
            this.connection = connection;
            this.meters = meters;
            this.start = start;
        }

        @Override
        public String get() {
            DevmemConnection c = connection.get();
            if (c == null) {
                return null;
            }
            ConnectionStats s = c.stats();
            long now = System.nanoTime();
            long since = lastNanos == 0 ? start.getAsLong() : lastNanos;
            double rate = now > since ? (s.bytesReceived() - lastBytes) / ((now - since) / 1e9) : 0;
            lastBytes = s.bytesReceived();
            lastNanos = now;
            return format(rate, s.bytesReceived(), meters.frags(FragKind.DMABUF), meters.frags(FragKind.LINEAR),
                    meters.frags(FragKind.HOST), s.fragsOutstanding(), s.dontneedCalls());
        }

        static String format(double bytesPerSecond, long bytes, long dmabuf, long linear, long host, long outstanding,
                             long dontneed) {
            return String.format(Locale.ROOT, "%12s  %10s  frags dmabuf %d linear %d host %d  outstanding %d  DONTNEED %d",
                    Sizes.bitRate(bytesPerSecond), Sizes.human(bytes), dmabuf, linear, host, outstanding, dontneed);
        }
    }
}
