package dev.devmem.reactor.tx;

import dev.devmem.api.DevmemException;
import dev.devmem.api.DevmemProtocolException;
import dev.devmem.api.spi.DevmemTxSocket;
import dev.devmem.api.spi.Pollable;
import dev.devmem.api.spi.TxBinding;
import dev.devmem.api.spi.TxCompletionSink;
import dev.devmem.api.spi.TxStats;
import dev.devmem.reactor.TxCompletion;
import dev.devmem.reactor.loop.IoLoop;
import dev.devmem.reactor.loop.LoopChannel;
import org.jctools.queues.atomic.MpscUnboundedAtomicArrayQueue;
import org.reactivestreams.Publisher;
import org.reactivestreams.Subscription;
import reactor.core.CoreSubscriber;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Operators;
import reactor.util.Logger;
import reactor.util.Loggers;

import java.util.ArrayDeque;
import java.util.function.Function;

/**
 * One sender subscription on its I/O loop: takes slices from the user's publisher, sends them in
 * order through the {@link DevmemTxSocket} under the in-flight byte cap, turns the socket's
 * completions into {@link TxCompletion}s (in order, with downstream demand) and frees each slice's
 * region only when all of its bytes are reported complete.
 *
 * <p>Threads: the socket, the slice queues and every non-volatile field belong to the loop thread.
 * Other threads only: add downstream demand, cancel, ask to close, and deliver slices (the upstream's
 * onNext goes to an MPSC queue). Every downstream signal happens on the loop thread.
 *
 * <p>Gates. Upstream gets {@code request(1)} only while the bytes taken but not yet completed are
 * below the cap and fewer than {@link #MAX_READY} completions wait for downstream demand. A send takes
 * at most the room left under the cap, so sent-but-not-completed bytes never exceed it.
 *
 * <p>Ending. Complete: after the upstream completed and every slice's completion was emitted.
 * Cancel, error or close: stop sending, cancel the upstream, give back the slices never sent, keep
 * polling completions until nothing is in flight or the grace period ends, then close the socket.
 * Regions still in flight then are never freed (the buffer dies with the subscription): nothing is
 * reused early.
 */
final class TxChannel extends LoopChannel<TxCompletion> {
    private static final Logger log = Loggers.getLogger(TxChannel.class);
    /** Completions waiting for downstream demand beyond which no new slice is requested. */
    static final int MAX_READY = 1024;
    /** Sends per loop pass, so that one sender does not starve the other channels of its loop. */
    private static final int SENDS_PER_PASS = 32;

    private final TxSession session;
    private final DevmemTxSocket socket;
    private final TxBinding binding;
    private final RegionRing ring;
    private final TxMetrics metrics;
    private final long maxInFlight;
    private final MpscUnboundedAtomicArrayQueue<Region> incoming = new MpscUnboundedAtomicArrayQueue<>(16);
    private final ArrayDeque<Region> sending = new ArrayDeque<>();
    private final ArrayDeque<Region> awaiting = new ArrayDeque<>();
    private final ArrayDeque<TxCompletion> ready = new ArrayDeque<>();
    private final SliceUpstream upstream = new SliceUpstream(this);
    private final Completions completions = new Completions();

    // --- touched by other threads ---
    private volatile boolean closeRequested;

    // --- loop thread only ---
    private long nextSequence;
    private long streamOffset;
    private long inFlightBytes;
    private long queuedBytes;
    private int upstreamPending;
    private boolean upstreamDone;
    private boolean stalledInflight;
    private boolean stalledSocket;
    private long noticesSeen;
    private DevmemException completionError;

    TxChannel(TxSession session, IoLoop loop) {
        super(loop, session.timer, session.graceNanos);
        this.session = session;
        this.socket = session.socket();
        this.binding = session.binding();
        this.ring = session.ring();
        this.metrics = session.metrics;
        this.maxInFlight = session.maxInFlightBytes;
    }

    /**
     * Any thread: the downstream subscribes; the user's publisher is made here (by the facade, which
     * turns its slices into their regions), then the loop takes over.
     */
    void start(CoreSubscriber<? super TxCompletion> s, Function<? super RegionRing, ? extends Publisher<Region>> source) {
        s.onSubscribe(this);
        Publisher<Region> slices;
        try {
            slices = java.util.Objects.requireNonNull(source.apply(ring), "the slice source returned null");
        } catch (Throwable t) {
            loop.register(this);
            loop.execute(() -> {
                activate(s);
                fail(Operators.onOperatorError(t, s.currentContext()));
            });
            return;
        }
        loop.register(this);
        loop.execute(() -> activate(s));
        // operators between the user's slices and here that drop regions give them back
        Flux.from(slices).doOnDiscard(Region.class, Region::release).subscribe(upstream);
    }

    /** Any thread: the session is closing (cancel, error or complete of the outer subscription). */
    void requestClose() {
        closeRequested = true;
        loop.signal();
    }

    boolean closed() {
        return closedFlag;
    }

    // ------------------------------------------------------------------ loop thread

    @Override
    protected boolean workNew() {
        if (closeRequested) {
            enterDraining();
            return true;
        }
        return false;
    }

    @Override
    protected boolean workDone() {
        if (closeRequested || cancelled) {
            closeSocket();
            return true;
        }
        return false;
    }

    @Override
    protected boolean workActive() {
        if (cancelled || closeRequested) {
            enterDraining();
            return true;
        }
        boolean progress = takeIncoming();
        if (state != ACTIVE) {
            return true;
        }
        Throwable upstreamError = upstream.error;
        if (upstreamError != null) {
            fail(upstreamError);
            return true;
        }
        try {
            progress |= sendSome();
            progress |= pollCompletions();
        } catch (DevmemException | RuntimeException e) {
            fail(e);
            return true;
        }
        progress |= emitReady();
        if (state != ACTIVE) {
            return true;
        }
        requestMore();
        // `complete` is written after the last onNext offered its slice: read it first, then the queue
        if (upstream.complete && incoming.isEmpty() && sending.isEmpty()
                && awaiting.isEmpty() && ready.isEmpty()) {
            state = DONE;
            CoreSubscriber<? super TxCompletion> a = actual;
            actual = null;
            a.onComplete();
            return true;
        }
        return progress;
    }

    /** Slices the upstream delivered: checked, numbered and queued for sending. */
    private boolean takeIncoming() {
        boolean any = false;
        Region s;
        while ((s = incoming.poll()) != null) {
            any = true;
            upstreamPending--;
            if (s.ring() != ring) {
                fail(new IllegalArgumentException("a slice of another TxBuffer (another send subscription): " + s));
                return true;
            }
            if (!s.take()) {
                fail(new IllegalStateException("a slice was emitted twice, or released before it was sent: " + s));
                return true;
            }
            s.sequence = nextSequence++;
            s.streamOffset = streamOffset;
            streamOffset += s.length();
            queuedBytes += s.length();
            sending.addLast(s);
        }
        return any;
    }

    private boolean sendSome() throws DevmemException {
        boolean progress = false;
        for (int i = 0; i < SENDS_PER_PASS && !sending.isEmpty(); i++) {
            long room = maxInFlight - inFlightBytes;
            if (room <= 0) {
                if (!stalledInflight) {
                    stalledInflight = true;
                    metrics.stallInflight();
                }
                return progress;
            }
            Region s = sending.peekFirst();
            long len = Math.min(s.length() - s.sent, room);
            long r = socket.send(binding, s.offset() + s.sent, len, s.sequence);
            if (r == 0) {
                if (!stalledSocket) {
                    stalledSocket = true;
                    metrics.stallSocket();
                }
                return progress;
            }
            stalledSocket = false;
            progress = true;
            s.sent += r;
            s.sends++;
            inFlightBytes += r;
            queuedBytes -= r;
            metrics.sent(r);
            if (s.sent == s.length()) {
                sending.pollFirst();
                awaiting.addLast(s);
            }
        }
        return progress;
    }

    private boolean pollCompletions() throws DevmemException {
        completions.reset();
        int n = socket.pollCompletions(completions);
        if (completionError != null) {
            DevmemException e = completionError;
            completionError = null;
            throw e;
        }
        if (n > 0) {
            TxStats st = socket.stats();
            long notices = st.notices() - noticesSeen;
            noticesSeen = st.notices();
            metrics.completed(n, completions.bytes, completions.copied, notices);
            metrics.slices(completions.slices);
        }
        return n > 0;
    }

    /** The socket's completions, applied to the oldest slice in flight. No allocation but the records. */
    private final class Completions implements TxCompletionSink {
        long bytes;
        long copied;
        long slices;

        void reset() {
            bytes = 0;
            copied = 0;
            slices = 0;
        }

        @Override
        public void completed(long tag, long n, boolean wasCopied) {
            Region s = !awaiting.isEmpty() ? awaiting.peekFirst() : sending.peekFirst();
            if (s == null || s.sequence != tag || s.completed + n > s.sent) {
                if (completionError == null) {
                    completionError = new DevmemProtocolException("a completion for slice #" + tag + " of " + n
                            + " bytes does not match the oldest slice in flight, " + s);
                }
                return;
            }
            s.completed += n;
            s.copied |= wasCopied;
            inFlightBytes -= n;
            bytes += n;
            if (wasCopied) {
                copied++;
            }
            if (s.completed == s.length()) {
                awaiting.pollFirst();
                s.finish(); // the region is free: it may be leased again from now on
                slices++;
                if (state == ACTIVE) {
                    ready.addLast(new TxCompletion(s.sequence, s.streamOffset, s.offset(), s.length(), s.sends,
                            s.copied));
                }
            } else if (state == DRAINING && s.completed == s.sent && s == sending.peekFirst()) {
                sending.pollFirst(); // the sent part of an abandoned slice is complete: its region is free
                s.finish();
            }
        }
    }

    private boolean emitReady() {
        boolean any = false;
        while (!ready.isEmpty() && state == ACTIVE) {
            long r = requested;
            if (r == 0) {
                return any;
            }
            TxCompletion c = ready.pollFirst();
            any = true;
            if (r != Long.MAX_VALUE) {
                produced(1);
            }
            try {
                actual.onNext(c);
            } catch (Throwable t) {
                fail(Operators.onOperatorError(this, t, c, actual.currentContext()));
                return true;
            }
        }
        return any;
    }

    private void requestMore() {
        Subscription up = upstream.subscription;
        if (up == null || upstream.complete || upstreamPending > 0 || upstream.error != null) {
            return;
        }
        if (inFlightBytes + queuedBytes >= maxInFlight) {
            if (!stalledInflight) {
                stalledInflight = true; // held back by the cap: no new slice until completions come
                metrics.stallInflight();
            }
            return;
        }
        if (ready.size() >= MAX_READY) {
            return;
        }
        stalledInflight = false;
        upstreamPending = 1;
        up.request(1);
    }

    /** Stops sending and gives back what was never sent; what is in flight is waited for. */
    @Override
    protected void onDraining() {
        ready.clear();
        upstream.cancel();
        Region s;
        while ((s = incoming.poll()) != null) {
            if (s.ring() == ring && s.state() == Region.QUEUED) {
                s.finish();
            } else {
                s.release();
            }
        }
        // never sent: free now; a partly sent head keeps its region until its sent part completes
        for (java.util.Iterator<Region> it = sending.iterator(); it.hasNext(); ) {
            Region t = it.next();
            if (t.sent == 0) {
                it.remove();
                queuedBytes -= t.length();
                t.finish();
            } else if (t.completed == t.sent) {
                it.remove();
                t.finish();
            }
        }
        if (inFlightBytes > 0) {
            startGrace();
        }
    }

    @Override
    protected boolean workDraining() {
        Region s;
        while ((s = incoming.poll()) != null) {
            s.release(); // arrived after the end: never ours
        }
        if (inFlightBytes > 0 && !graceDue) {
            try {
                if (pollCompletions()) {
                    return true;
                }
            } catch (DevmemException | RuntimeException e) {
                log.debug("devmem sender: completions after the end failed; closing", e);
                closeSocket();
                return true;
            }
        }
        if (inFlightBytes == 0 || graceDue) {
            closeSocket();
            return true;
        }
        return false;
    }

    private void closeSocket() {
        if (state == CLOSED) {
            return;
        }
        if (inFlightBytes > 0) {
            log.warn("devmem sender: closing with {} bytes still in flight after the grace period; their regions"
                    + " are never reused", inFlightBytes);
        }
        metrics.abandoned(inFlightBytes);
        try {
            socket.close();
        } catch (RuntimeException e) {
            log.warn("closing {} failed", socket, e);
        }
        markClosed();
        sending.clear();
        awaiting.clear();
        session.channelClosed();
    }

    @Override
    protected Pollable pollable() {
        return state == CLOSED ? null : socket;
    }

    @Override
    protected void closeNow(Throwable cause) {
        errorIfActive(cause);
        upstream.cancel();
        closeSocket();
    }

    /** Any thread: the upstream delivered a slice; a closed channel gives it back at once. */
    void offer(Region slice) {
        if (closedFlag) {
            slice.release();
            return;
        }
        incoming.offer(slice);
        loop.signal();
    }

    /** Bytes sent and not yet completed (loop thread, or tests after the end). */
    long inFlightBytes() {
        return inFlightBytes;
    }

    @Override
    public String toString() {
        return "DevmemSender{" + socket + ", " + ring + '}';
    }
}
