package dev.devmem.samples.feeder;

import dev.devmem.api.DevmemFragBatch;
import dev.devmem.api.DevmemProtocolException;
import dev.devmem.reactor.DevmemConnection;
import org.reactivestreams.Subscription;
import reactor.core.publisher.BaseSubscriber;
import reactor.core.publisher.Mono;
import reactor.core.publisher.MonoSink;

import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Feeds one devmem connection to a {@link GatherDevice}: receives its {@code Flux<DevmemFragBatch>},
 * assembles fixed-size records into scatter lists, submits batches of them to the device, and
 * releases each frag once the device completed every batch that reads it. The consumer gets the
 * gathered batches in order.
 *
 * <p>Pacing is the library's: the feeder requests without bound and holds frags until the device is
 * done, so a slow device (or a consumer that keeps the device's buffers) holds tokens, the token
 * budget stops the receive, and TCP pushes back on the sender. Nothing is buffered beyond the
 * budget's frags.
 *
 * <p>The returned Mono completes with the {@link FeedReport} when the stream ended and every batch
 * completed; it fails with the first error (a device failure, a malformed stream, a consumer that
 * threw) after the frags of batches already on the device came back. Cancelling it cancels the
 * receive; frags the device still reads are released when it completes, and the batches it completes
 * from then on are recycled without reaching the consumer.
 */
public final class Feeder {
    private final FeederConfig config;
    private final GatherDevice device;
    private final BatchConsumer consumer;

    public Feeder(FeederConfig config, GatherDevice device, BatchConsumer consumer) {
        this.config = Objects.requireNonNull(config, "config");
        this.device = Objects.requireNonNull(device, "device");
        this.consumer = Objects.requireNonNull(consumer, "consumer");
    }

    public Mono<FeedReport> feed(DevmemConnection connection) {
        Objects.requireNonNull(connection, "connection");
        return Mono.create(sink -> {
            Session s = new Session(sink, connection);
            sink.onCancel(s::cancelFeed);
            connection.receiveBatches().subscribe(s);
        });
    }

    private final class Session extends BaseSubscriber<DevmemFragBatch> implements GatherBatch.Owner {
        private final MonoSink<FeedReport> sink;
        private final FragSlots slots = new FragSlots(config.tokenBudget());
        private final RecordAssembler assembler;
        private final AtomicLong submitted = new AtomicLong();
        private final AtomicLong completed = new AtomicLong();
        private final AtomicReference<Throwable> error = new AtomicReference<>();
        private final AtomicBoolean finished = new AtomicBoolean();
        private volatile boolean inputDone;
        /** The feed's subscriber left: batches the device still completes go back unseen. */
        private volatile boolean cancelled;
        private volatile DevmemProtocolException truncation;
        private long firstReceiveNanos;
        private long maxHeld;
        private volatile long lastCompletionNanos;

        private final DevmemConnection connection;

        Session(MonoSink<FeedReport> sink, DevmemConnection connection) {
            this.sink = sink;
            this.connection = connection;
            this.assembler = new RecordAssembler(slots, config.format().recordBytes(), config.recordsPerBatch(),
                    config.pieceLimit(), !device.readsDmabufOnDevice(), this, this::submit);
        }

        void cancelFeed() {
            cancelled = true;
            cancel();
        }

        @Override
        protected void hookOnSubscribe(Subscription subscription) {
            subscription.request(Long.MAX_VALUE);
        }

        @Override
        protected void hookOnNext(DevmemFragBatch batch) {
            try {
                synchronized (assembler) {
                    if (firstReceiveNanos == 0) {
                        firstReceiveNanos = System.nanoTime();
                    }
                    assembler.accept(batch);
                    maxHeld = Math.max(maxHeld, slots.held());
                }
            } catch (IllegalStateException e) {
                fail(new IllegalStateException(e.getMessage() + "; connection " + connection.stats(), e));
                synchronized (assembler) {
                    assembler.abort();
                }
                cancel();
            } catch (DevmemProtocolException | RuntimeException e) {
                fail(e); // the assembler released the frags it had not taken; batches release the others
                synchronized (assembler) {
                    assembler.abort();
                }
                cancel();
            }
        }

        private void submit(GatherBatch batch) {
            submitted.incrementAndGet();
            device.submit(batch);
        }

        @Override
        protected void hookOnComplete() {
            String truncated;
            synchronized (assembler) {
                truncated = assembler.finish();
            }
            if (truncated != null) {
                // reported once the complete records before it have reached the consumer
                truncation = new DevmemProtocolException(truncated);
            }
            inputDone = true;
            maybeFinish();
        }

        @Override
        protected void hookOnError(Throwable throwable) {
            synchronized (assembler) {
                assembler.abort();
            }
            fail(throwable);
            inputDone = true;
            maybeFinish();
        }

        @Override
        protected void hookOnCancel() {
            synchronized (assembler) {
                assembler.abort();
            }
            inputDone = true;
            maybeFinish();
        }

        @Override
        public void gathered(GatherBatch batch, DeviceBuffer buffer) {
            GatheredBatch out = new GatheredBatch(batch.sequence(), batch.firstRecord(), batch.records(),
                    batch.recordBytes(), buffer);
            batch.releaseFrags();
            assembler.recycle(batch);
            lastCompletionNanos = System.nanoTime();
            try {
                if (error.get() == null && !cancelled) {
                    consumer.accept(out);
                } else {
                    buffer.recycle();
                }
            } catch (Exception | Error e) {
                buffer.recycle();
                fail(e);
                cancel();
            }
            completed.incrementAndGet();
            maybeFinish();
        }

        @Override
        public void failed(GatherBatch batch, Throwable cause) {
            batch.releaseFrags();
            assembler.recycle(batch);
            fail(cause);
            cancel();
            completed.incrementAndGet();
            maybeFinish();
        }

        private void fail(Throwable t) {
            error.compareAndSet(null, t);
        }

        private void maybeFinish() {
            if (!inputDone || completed.get() != submitted.get() || !finished.compareAndSet(false, true)) {
                return;
            }
            Throwable t = error.get() != null ? error.get() : truncation;
            if (t != null) {
                sink.error(t);
                return;
            }
            AssemblyCounters c;
            long held;
            synchronized (assembler) {
                c = assembler.counters;
                held = maxHeld;
            }
            long end = lastCompletionNanos == 0 ? System.nanoTime() : lastCompletionNanos;
            sink.success(new FeedReport(c.records, c.batches, assembler.streamPosition(), c.receives, c.frags,
                    c.dmabufFrags, c.linearFrags, c.hostFrags, c.pieces, c.recordsSpanningFrags,
                    c.recordsSpanningReceives, c.recordsWithLinear, c.maxPiecesPerRecord, slots.taken(),
                    slots.released(), slots.overReleases(), held,
                    firstReceiveNanos == 0 ? 0 : end - firstReceiveNanos));
        }
    }
}
