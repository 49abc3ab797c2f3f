package dev.devmem.gateway;

import dev.devmem.api.DevmemFragBatch;
import dev.devmem.api.DevmemUnsupportedException;
import dev.devmem.api.FragKind;
import dev.devmem.gateway.store.Manifest;
import dev.devmem.gateway.store.ObjectSink;
import dev.devmem.gateway.store.ObjectStore;
import org.reactivestreams.Subscription;
import reactor.core.publisher.BaseSubscriber;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;

import java.lang.foreign.MemorySegment;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.CRC32C;

/**
 * Stores one flow as one object. It subscribes to the connection's {@code Flux<DevmemFragBatch>} on
 * the I/O thread, where it only queues each batch; its own writer thread writes the frags' bytes
 * from their memory into the {@link ObjectSink}, and gives a batch back ({@code releaseAll}) only
 * once the sink says every byte of it is durable.
 *
 * <p>Nothing here buffers without bound: every queued or held batch is outstanding to the receiver,
 * whose token budget stops reading at {@code budget} frags. So a slow disk fills the budget, the
 * receiver stops reading, the NIC's buffers stay full and TCP's window closes on the sender.
 *
 * <p>On a store failure the object is aborted (nothing visible), every batch held or still arriving
 * is released at once, and the connection is cancelled; the result carries the typed error.
 */
final class FlowWriter extends BaseSubscriber<DevmemFragBatch> {
    private static final Object END = new Object();

    private final String key;
    private final String peer;
    private final ObjectStore store;
    private final SyncPolicy policy;
    private final int budget;
    private final String durability;
    private final GatewayStats stats;
    private final LinkedBlockingQueue<Object> inbox = new LinkedBlockingQueue<>();
    private final ArrayDeque<DevmemFragBatch> held = new ArrayDeque<>();
    private final ArrayDeque<long[]> heldEnds = new ArrayDeque<>();
    private final Sinks.One<FlowResult> result = Sinks.one();
    private final AtomicLong outstanding = new AtomicLong();
    private final AtomicLong maxOutstanding = new AtomicLong();
    private final Object failLock = new Object();
    private boolean failed; // guarded by failLock

    // writer thread only
    private final CRC32C crc = new CRC32C();
    private long position;
    private long heldFrags;
    private long heldBytes;
    private final long[] kinds = new long[FragKind.values().length];

    FlowWriter(String key, String peer, ObjectStore store, SyncPolicy policy, int budget, String durability,
               GatewayStats stats) {
        this.key = key;
        this.peer = peer;
        this.store = store;
        this.policy = policy;
        this.budget = budget;
        this.durability = durability;
        this.stats = stats;
    }

    Mono<FlowResult> result() {
        return result.asMono();
    }

    // ------------------------------------------------------------------ I/O thread: queue only

    @Override
    protected void hookOnSubscribe(Subscription s) {
        s.request(Long.MAX_VALUE); // the token budget is the bound, not demand
    }

    @Override
    protected void hookOnNext(DevmemFragBatch batch) {
        int n = batch.size();
        long now = outstanding.addAndGet(n);
        maxOutstanding.accumulateAndGet(now, Math::max);
        stats.outstanding(n);
        synchronized (failLock) {
            if (!failed) {
                inbox.add(batch);
                return;
            }
        }
        giveBack(batch);
    }

    @Override
    protected void hookOnComplete() {
        inbox.add(END);
    }

    @Override
    protected void hookOnError(Throwable t) {
        inbox.add(t);
    }

    /** Ends the flow unstored (gateway shutdown): the writer aborts the object and gives every frag back. */
    void stop() {
        inbox.add(new java.util.concurrent.CancellationException("the gateway is closing; object " + key + " not stored"));
    }

    // ------------------------------------------------------------------ writer thread

    /** The writer thread's body: runs until the flow is stored or has failed. */
    void run() {
        ObjectSink sink = null;
        try {
            sink = store.create(key);
            while (true) {
                Object item = next(sink);
                if (item instanceof DevmemFragBatch b) {
                    write(sink, b);
                } else if (item == END) {
                    Manifest m = new Manifest(key, position, Manifest.hex((int) crc.getValue()),
                            kinds[FragKind.DMABUF.ordinal()], kinds[FragKind.LINEAR.ordinal()],
                            kinds[FragKind.HOST.ordinal()], peer, Instant.now().toString(), targetName(),
                            durability, sink.syncs() + 1);
                    sink.commit(m);
                    releaseUpTo(Long.MAX_VALUE);
                    stats.stored(position);
                    result.tryEmitValue(new FlowResult(key, peer, m, null, maxOutstanding.get()));
                    return;
                } else {
                    throw (Throwable) item;
                }
            }
        } catch (Throwable t) {
            fail(sink, t);
        }
    }

    private String targetName() {
        return store.describe().startsWith("s3") ? "s3" : "file";
    }

    /**
     * The next batch, END or error; when nothing arrives within the policy's idle wait, makes the held
     * bytes durable (the group commit) and gives their frags back, and waits again.
     */
    private Object next(ObjectSink sink) throws Exception {
        while (true) {
            if (held.isEmpty()) {
                return inbox.take();
            }
            Object item = policy.holdTimeout().isZero() ? inbox.poll()
                    : inbox.poll(policy.holdTimeout().toNanos(), TimeUnit.NANOSECONDS);
            if (item != null) {
                return item;
            }
            long before = heldFrags;
            releaseUpTo(sink.sync());
            if (heldFrags == before && heldFrags >= pressureFrags()) {
                releaseUpTo(sink.relieve());
            }
            if (heldFrags == before) {
                // the sink needs more bytes before it can make these durable (an S3 part below its minimum)
                return inbox.take();
            }
        }
    }

    private long pressureFrags() {
        return Math.max(1, (long) (budget * policy.pressureFraction()));
    }

    private void write(ObjectSink sink, DevmemFragBatch b) throws Exception {
        int n = b.size();
        held.add(b); // first: if a write fails, the failure path gives it back with the others
        heldFrags += n;
        heldBytes += b.bytes();
        for (int i = 0; i < n; i++) {
            if (!b.isHostReadable(i)) {
                throw new DevmemUnsupportedException("storing a frag of kind " + b.kind(i), null,
                        "its dmabuf is device memory the CPU cannot read; the storage gateway needs a host-mappable dmabuf");
            }
            MemorySegment seg = b.segment(i);
            crc.update(seg.asByteBuffer());
            sink.write(seg, position);
            position += seg.byteSize();
            kinds[b.kind(i).ordinal()]++;
        }
        heldEnds.add(new long[]{position});
        if (heldBytes >= policy.groupBytes() || heldFrags >= pressureFrags()) {
            releaseUpTo(sink.sync());
        } else {
            releaseUpTo(sink.durable());
        }
    }

    /** Gives back every held batch whose last byte is below {@code durable}. */
    private void releaseUpTo(long durable) {
        while (!heldEnds.isEmpty() && heldEnds.peek()[0] <= durable) {
            DevmemFragBatch b = held.poll();
            heldEnds.poll();
            heldFrags -= b.size();
            heldBytes -= b.bytes();
            giveBack(b);
        }
    }

    private void giveBack(DevmemFragBatch b) {
        int n = b.size();
        // count first: once released, the loop may receive (and count) new frags at once
        outstanding.addAndGet(-n);
        stats.outstanding(-n);
        b.releaseAll();
    }

    private void fail(ObjectSink sink, Throwable t) {
        if (sink != null) {
            sink.abort();
        }
        synchronized (failLock) {
            failed = true;
        }
        dispose(); // cancel the receive: the connection closes once its frags are back
        while (!held.isEmpty()) {
            giveBack(held.poll());
        }
        heldEnds.clear();
        heldFrags = 0;
        heldBytes = 0;
        for (Object o; (o = inbox.poll()) != null; ) {
            if (o instanceof DevmemFragBatch b) {
                giveBack(b);
            }
        }
        stats.failed();
        result.tryEmitValue(new FlowResult(key, peer, null, t, maxOutstanding.get()));
    }
}
