package dev.devmem.cli;

import dev.devmem.api.DevmemUnsupportedException;
import dev.devmem.api.DmabufSource;
import dev.devmem.api.TxBindingSpec;
import dev.devmem.api.spi.DevmemBackend;
import dev.devmem.api.spi.TxBinding;
import dev.devmem.api.spi.TxStats;
import dev.devmem.reactor.DevmemSender;
import dev.devmem.reactor.TxBuffer;
import dev.devmem.reactor.TxCompletion;
import dev.devmem.reactor.TxSlice;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import reactor.core.Exceptions;
import reactor.core.publisher.Flux;

import java.io.PrintWriter;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetSocketAddress;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Sends the netcat pattern as devmem TX through a {@link DevmemSender}: the pattern is written into
 * {@link TxSlice}s leased from the TX binding's dmabuf (through its host view), the sender sends them
 * with {@code MSG_ZEROCOPY} and the devmem cmsg (or, on the opt-in copy fallback, as host memory), and
 * each slice's {@link TxCompletion} frees its region for the next lease. The summary's numbers come
 * from the sender's {@code devmem.tx.*} meters, the TX socket's own {@link TxStats}, the
 * {@link TxBuffer} and the completions themselves, read after the send ended; nothing is recomputed.
 *
 * <p>Filling happens where the lease completes (the caller's thread for the first slices, then the
 * sender's I/O thread, which frees the room): one {@code memcpy} per slice from a template, so the
 * I/O thread is not held for long.
 */
final class TxPatternSender {

    /** What is sent and how. */
    record Setup(DevmemBackend backend, String interfaceName, DmabufSource dmabuf, String dmabufLabel,
                 boolean copyFallback, long sliceBytes, long maxInFlightBytes) {
        Setup {
            Objects.requireNonNull(backend, "backend");
            Objects.requireNonNull(interfaceName, "interfaceName");
            Objects.requireNonNull(dmabuf, "dmabuf");
            Objects.requireNonNull(dmabufLabel, "dmabufLabel");
            if (sliceBytes < 1 || sliceBytes > dmabuf.size()) {
                throw new IllegalArgumentException("a slice must be 1 to " + dmabuf.size() + " bytes, was " + sliceBytes);
            }
            if (maxInFlightBytes < 1) {
                throw new IllegalArgumentException("maxInFlightBytes must be >= 1, was " + maxInFlightBytes);
            }
        }
    }

    /**
     * The devmem TX side of a send's summary (docs/cli.md, {@code send} JSON {@code tx}).
     *
     * @param mode             {@code devmem} or {@code copy-fallback}
     * @param fallbackCause    the kernel's refusal the copy fallback covered; null on devmem
     * @param slices           the {@link TxCompletion}s the sender emitted (one per slice)
     * @param copiedSlices     of those, the ones whose {@link TxCompletion#copied()} is set
     * @param maxInFlightBytes the most bytes the TX socket's ledger held after a send; null if unknown
     */
    record Tx(String backend, String mode, String interfaceName, String dmabuf, long dmabufBytes, int bindingId,
              String fallbackCause, long sliceBytes, long slices, long copiedSlices, long sends,
              long partialSends, long wouldBlock, long completions, long completedBytes, long copiedCompletions,
              long notifications, Long maxInFlightBytes, long maxInFlightCap, long outstandingBytes,
              long stallsInflight, long stallsSocket, long leases, long leaseWaits) {

        boolean copyFallback() {
            return fallbackCause != null;
        }
    }

    /** The summary: what every send reports, and the TX part. */
    record Result(PatternSender.Result common, Tx tx) {
    }

    private final Setup setup;
    private final int period;
    private final int terminator;
    private final long corruptAt;
    private final PrintWriter err;
    private final String command;
    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private final MeterReadings meters = new MeterReadings(registry);
    private volatile boolean connected;

    /**
     * @param corruptAt the stream offset of one byte to flip (to see a receiver catch it), or -1
     * @param err       where the status lines go ({@code devmem COMMAND: ...})
     */
    TxPatternSender(String command, Setup setup, int period, int terminator, long corruptAt, PrintWriter err) {
        if (period < 2 || period > 256) {
            throw new IllegalArgumentException("the pattern period must be in [2, 256], was " + period);
        }
        if (terminator != 0 && terminator != 0x0A) {
            throw new IllegalArgumentException("the terminator must be 0 or 10, was " + terminator);
        }
        this.command = Objects.requireNonNull(command, "command");
        this.setup = setup;
        this.period = period;
        this.terminator = terminator;
        this.corruptAt = corruptAt;
        this.err = Objects.requireNonNull(err, "err");
    }

    /** The progress line for this send: nothing until connected. */
    java.util.function.Supplier<String> progressLine(long total) {
        ProgressLine line = new ProgressLine(meters, total);
        return () -> connected ? line.get() : null;
    }

    /**
     * Binds, connects to {@code remote}, sends {@code total} bytes of the pattern and waits for every
     * completion; the sender then closes the connection (FIN).
     *
     * @throws Exception the library's failure as it typed it: the kernel's refusal of bind-tx
     *                   ({@code NetlinkException}), a missing exporter ({@code DevmemUnsupportedException}),
     *                   the connection ({@code SyscallException})
     */
    Result send(InetSocketAddress remote, long total) throws Exception {
        AtomicReference<TxBinding> bound = new AtomicReference<>();
        AtomicReference<ObservedTxBackend.Socket> socket = new AtomicReference<>();
        AtomicReference<TxBuffer> bufferRef = new AtomicReference<>();
        AtomicReference<InetSocketAddress> local = new AtomicReference<>(); // read while connected: gone after close
        ObservedTxBackend observed = new ObservedTxBackend(setup.backend(), b -> {
            bound.set(b);
            announce(b);
        }, s -> {
            socket.set(s);
            local.set(s.localAddress());
            status("connected to " + HostPort.format(remote) + " from " + HostPort.format(local.get())
                    + " (" + (bound.get() != null && bound.get().fallbackCause().isPresent()
                    ? "COPY FALLBACK: host memory" : "devmem TX") + ", slices of " + Sizes.human(setup.sliceBytes())
                    + ", at most " + Sizes.human(setup.maxInFlightBytes()) + " in flight)");
            connected = true; // after the status line, so that the progress line does not run into it
        });
        DevmemSender sender = DevmemSender.create(observed)
                .binding(new TxBindingSpec(setup.interfaceName(), setup.dmabuf(), setup.copyFallback()))
                .maxInFlightBytes(setup.maxInFlightBytes())
                .meterRegistry(registry);
        MemorySegment template = template(Math.min(setup.sliceBytes(), Math.max(total, 1)));
        long[] seen = new long[3]; // completions, copied ones, the stream offset they reached
        long[] start = new long[1];
        try {
            sender.send(remote, buffer -> {
                        bufferRef.set(buffer);
                        if (!buffer.hostMappable()) {
                            return Flux.error(new DevmemUnsupportedException("devmem send from " + setup.dmabufLabel(),
                                    null, "the " + setup.dmabufLabel() + " dmabuf has no host view (device memory the CPU "
                                    + "cannot map), and devmem send writes its pattern through the CPU"));
                        }
                        start[0] = System.nanoTime();
                        return slices(buffer, template, total);
                    })
                    .doOnNext(c -> {
                        // the sender promises one completion per slice, in order: hold it to that
                        if (c.sequence() != seen[0] || c.streamOffset() != seen[2]) {
                            throw new IllegalStateException("completion out of order: " + c + " after " + seen[0]
                                    + " completions up to stream offset " + seen[2]);
                        }
                        seen[0]++;
                        if (c.copied()) {
                            seen[1]++;
                        }
                        seen[2] += c.length();
                    })
                    .blockLast();
        } catch (RuntimeException e) {
            Throwable t = Exceptions.unwrap(e); // the library's checked failures arrive wrapped
            if (t instanceof Exception ex) {
                throw ex;
            }
            throw (Error) t;
        }
        long end = System.nanoTime();
        if (seen[2] != total) {
            throw new IllegalStateException("the sender completed " + seen[2] + " of " + total + " bytes");
        }
        TxBinding b = bound.get();
        ObservedTxBackend.Socket s = socket.get();
        TxBuffer buffer = bufferRef.get();
        TxStats stats = s.stats();
        String cause = b.fallbackCause().map(ErrorReporter::oneLine).orElse(null);
        Tx tx = new Tx(setup.backend().name(), cause == null ? "devmem" : "copy-fallback", b.interfaceName(),
                setup.dmabufLabel(), b.dmabufSize(), b.id(), cause, setup.sliceBytes(), seen[0], seen[1],
                meters.txSends(), stats.partialSends(), stats.wouldBlock(), meters.txCompletions(),
                meters.txCompletedBytes(), meters.txCopied(), meters.txNotifications(), s.maxOutstandingBytes(),
                setup.maxInFlightBytes(), meters.txOutstandingBytes(), meters.txStalls("inflight"),
                meters.txStalls("socket"), buffer.leases(), buffer.waits());
        double seconds = start[0] == 0 ? 0 : (end - start[0]) / 1e9;
        PatternSender.Result common = new PatternSender.Result(remote, local.get(), meters.txBytes(),
                seconds, period, terminator);
        return new Result(common, tx);
    }

    /**
     * {@code total} bytes of the pattern in slices of at most {@code sliceBytes}, each leased when the
     * buffer has room (waiting for completions when it has not), filled, and emitted.
     */
    private Flux<TxSlice> slices(TxBuffer buffer, MemorySegment template, long total) {
        long slice = setup.sliceBytes();
        long count = total / slice + (total % slice == 0 ? 0 : 1);
        if (count == 0) {
            return Flux.empty();
        }
        return Flux.<Long, Long>generate(() -> 0L, (i, sink) -> {
                    sink.next(i);
                    if (i + 1 == count) {
                        sink.complete();
                    }
                    return i + 1;
                })
                .concatMap(i -> {
                    long pos = i * slice;
                    return buffer.lease(Math.min(slice, total - pos)).map(s -> fill(s, template, pos));
                }, 0);
    }

    private TxSlice fill(TxSlice slice, MemorySegment template, long streamOffset) {
        MemorySegment dst = slice.segment();
        MemorySegment.copy(template, streamOffset % period, dst, 0, slice.length());
        if (corruptAt >= streamOffset && corruptAt < streamOffset + slice.length()) {
            long at = corruptAt - streamOffset;
            dst.set(ValueLayout.JAVA_BYTE, at, (byte) ~dst.get(ValueLayout.JAVA_BYTE, at));
        }
        return slice;
    }

    /** The pattern from phase 0, long enough that a slice can start at any phase. */
    private MemorySegment template(long sliceBytes) {
        MemorySegment t = Arena.ofAuto().allocate(sliceBytes + period);
        for (long i = 0; i < t.byteSize(); i++) {
            int phase = (int) (i % period);
            t.set(ValueLayout.JAVA_BYTE, i, phase == period - 1 ? (byte) terminator : (byte) (phase + 1));
        }
        return t;
    }

    private void announce(TxBinding b) {
        if (b.fallbackCause().isPresent()) {
            status("COPY FALLBACK (--copy-fallback): " + b.interfaceName() + " cannot do devmem TX: "
                    + ErrorReporter.oneLine(b.fallbackCause().get()) + ". Sending the " + setup.dmabufLabel()
                    + " dmabuf's host view as ordinary host memory (MSG_ZEROCOPY without the devmem cmsg): this is "
                    + "NOT devmem TX");
        } else {
            status("bound " + Sizes.human(b.dmabufSize()) + " " + setup.dmabufLabel() + " dmabuf for TX as id "
                    + Integer.toUnsignedString(b.id()) + " on " + b.interfaceName()
                    + ("emulated".equals(setup.backend().name()) ? " (emulated NIC)" : ""));
        }
    }

    private void status(String what) {
        err.println("devmem " + command + ": " + what);
        err.flush();
    }

    /** The live line: rate since the last redraw, bytes the kernel took, completions, bytes in flight. */
    static final class ProgressLine implements java.util.function.Supplier<String> {
        private final MeterReadings meters;
        private final long total;
        private long lastBytes;
        private long lastNanos;

        ProgressLine(MeterReadings meters, long total) {
            this.meters = meters;
            this.total = total;
        }

        @Override
        public String get() {
            long now = System.nanoTime();
            long sent = meters.txBytes();
            double rate = lastNanos != 0 && now > lastNanos ? (sent - lastBytes) / ((now - lastNanos) / 1e9) : 0;
            lastBytes = sent;
            lastNanos = now;
            return String.format(Locale.ROOT, "%12s  %10s of %s sent  completions %d  in flight %s",
                    Sizes.bitRate(rate), Sizes.human(sent), Sizes.human(total), meters.txCompletions(),
                    Sizes.human(meters.txOutstandingBytes()));
        }
    }

}
