package dev.devmem.reactor.tx;

import dev.devmem.api.TxBindingSpec;
import dev.devmem.api.spi.DevmemBackend;
import dev.devmem.api.spi.DevmemTxSocket;
import dev.devmem.api.spi.TxBinding;
import dev.devmem.reactor.TxCompletion;
import dev.devmem.reactor.loop.SetupThreads;
import dev.devmem.reactor.loop.TransportResources;
import org.reactivestreams.Publisher;
import reactor.core.CoreSubscriber;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Operators;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Scheduler;
import reactor.util.Logger;
import reactor.util.Loggers;

import java.net.InetSocketAddress;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;

/**
 * What one {@code DevmemSender} subscription holds, acquired in order and released in reverse: the
 * I/O loops (unless shared), the TX binding (and with it its netlink socket and dmabuf), the
 * {@link RegionRing} over it (the user's {@code TxBuffer}), and the connected socket. Teardown runs once, on the setup thread, after
 * the channel closed the socket: the binding never goes while a send through it may be outstanding.
 */
public final class TxSession {
    private static final Logger log = Loggers.getLogger(TxSession.class);

    private final TransportResources resources;
    final TxMetrics metrics;
    final Scheduler timer;
    final long maxInFlightBytes;
    final long graceNanos;
    private TxBinding binding;
    private boolean fallback;
    private RegionRing ring;
    private DevmemTxSocket socket;
    private TxChannel channel; // guarded by this
    private boolean closing; // guarded by this
    private final AtomicBoolean tornDown = new AtomicBoolean();
    private final Sinks.Empty<Void> closed = Sinks.empty();

    private TxSession(TransportResources resources, long maxInFlightBytes) {
        this.resources = resources;
        this.metrics = TxMetrics.of(resources.meterRegistry(), resources.name());
        this.timer = resources.timer();
        this.maxInFlightBytes = maxInFlightBytes;
        this.graceNanos = resources.graceNanos();
    }

    /** Blocking: loops, binding, buffer, socket. On failure releases what it had, in reverse, and rethrows. */
    public static TxSession open(TransportResources resources, long maxInFlightBytes, TxBindingSpec spec,
                                 InetSocketAddress remote) throws Exception {
        TxSession s = new TxSession(resources, maxInFlightBytes);
        DevmemBackend backend = resources.backend();
        try {
            s.resources.acquireLoops();
            s.binding = backend.bindTx(spec);
            s.fallback = s.binding.fallbackCause().isPresent();
            s.metrics.binding(s.fallback, 1);
            if (s.fallback) {
                log.warn("devmem sender: {} cannot do devmem TX, sending its dmabuf as host memory (copy fallback,"
                        + " opted in): {}", spec.interfaceName(), s.binding.fallbackCause().get().getMessage());
            }
            s.ring = new RegionRing(s.binding);
            s.socket = backend.connectTx(remote, s.binding);
            return s;
        } catch (Throwable t) {
            s.teardown();
            throw t;
        }
    }

    TxBinding binding() {
        return binding;
    }

    RegionRing ring() {
        return ring;
    }

    DevmemTxSocket socket() {
        return socket;
    }

    /** The completions of this session's one send, driven by the user's slices. */
    public Flux<TxCompletion> run(Function<? super RegionRing, ? extends Publisher<Region>> slices) {
        return new Flux<>() {
            @Override
            public void subscribe(CoreSubscriber<? super TxCompletion> actual) {
                TxChannel c;
                synchronized (TxSession.this) {
                    if (channel != null || closing) {
                        c = null;
                    } else {
                        c = channel = new TxChannel(TxSession.this, resources.loops().next());
                    }
                }
                if (c == null) {
                    Operators.error(actual, new IllegalStateException("one send per devmem sender subscription"));
                    return;
                }
                c.start(actual, slices);
            }
        };
    }

    /**
     * Ends the session: the channel stops sending, waits (bounded) for what is in flight, closes the
     * socket; then the binding and loops go. Completes when all of it is done. Idempotent.
     */
    public Mono<Void> close() {
        TxChannel c;
        synchronized (this) {
            closing = true;
            c = channel;
        }
        if (c != null) {
            c.requestClose();
        } else {
            SetupThreads.execute(this::teardown);
        }
        return closed.asMono();
    }

    /** From the loop: the socket is closed. */
    void channelClosed() {
        SetupThreads.execute(this::teardown);
    }

    private void teardown() {
        if (!tornDown.compareAndSet(false, true)) {
            return;
        }
        if (ring != null) {
            ring.close();
        }
        if (socket != null) {
            close("socket", socket::close);
        }
        if (binding != null) {
            close("TX binding", binding::close);
            metrics.binding(fallback, -1);
        }
        resources.releaseLoops();
        closed.tryEmitEmpty();
    }

    private static void close(String what, Runnable r) {
        TransportResources.close(log, what, r);
    }

    /** For tests: whether teardown ran. */
    boolean isTornDown() {
        return tornDown.get();
    }
}
