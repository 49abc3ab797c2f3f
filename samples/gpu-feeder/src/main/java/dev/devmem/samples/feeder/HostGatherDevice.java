package dev.devmem.samples.feeder;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The gather done by the host CPU, from the dmabuf's host mapping ({@code DevmemFragBatch.segment}):
 * what runs where the dmabuf is host memory (the emulated NIC, udmabuf) or no GPU is present. One
 * worker thread plays the device's copy engine: it takes batches in order, waits for a free batch
 * buffer (off-heap, page-aligned), copies every piece into place and completes the batch.
 *
 * <p>The worker may block (on a free buffer); the devmem I/O thread never does: {@link #submit} only
 * enqueues.
 */
public final class HostGatherDevice implements GatherDevice {
    /** Automatic: the buffers live while the device or a consumer still references one. */
    private final Arena arena = Arena.ofAuto();
    private final BlockingQueue<HostBuffer> free;
    private final LinkedBlockingQueue<Object> pending = new LinkedBlockingQueue<>();
    private final Thread worker;
    private final AtomicBoolean closed = new AtomicBoolean();

    /** A device with {@code buffers} batch buffers of {@code bufferBytes} each. */
    public HostGatherDevice(int buffers, long bufferBytes) {
        if (buffers < 1) {
            throw new IllegalArgumentException("buffers must be positive, was " + buffers);
        }
        free = new ArrayBlockingQueue<>(buffers);
        for (int i = 0; i < buffers; i++) {
            free.add(new HostBuffer(arena.allocate(bufferBytes, 4096)));
        }
        worker = Thread.ofPlatform().daemon().name("gather-host").start(this::run);
    }

    @Override
    public String name() {
        return "host";
    }

    @Override
    public boolean readsDmabufOnDevice() {
        return false;
    }

    @Override
    public void submit(GatherBatch batch) {
        if (closed.get()) {
            batch.failed(new IllegalStateException("the host gather device is closed"));
            return;
        }
        pending.add(batch);
    }

    private void run() {
        try {
            while (true) {
                Object next = pending.take();
                if (next == Boolean.FALSE) {
                    break;
                }
                GatherBatch batch = (GatherBatch) next;
                HostBuffer buffer = free.take();
                try {
                    gather(batch, buffer.segment);
                } catch (RuntimeException e) {
                    free.add(buffer);
                    batch.failed(e);
                    continue;
                }
                buffer.lend(batch.bytes());
                batch.completed(buffer);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            Object left;
            while ((left = pending.poll()) != null) {
                if (left instanceof GatherBatch b) {
                    b.failed(new IllegalStateException("the host gather device closed before gathering batch "
                            + b.sequence()));
                }
            }
        }
    }

    /** The gather: one copy per piece, from the frag's host bytes to its place in the batch. */
    static void gather(GatherBatch batch, MemorySegment into) {
        for (int p = 0, n = batch.pieces(); p < n; p++) {
            MemorySegment.copy(batch.hostFrag(p), batch.fragOffset(p), into, batch.destination(p), batch.length(p));
        }
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        pending.add(Boolean.FALSE);
        try {
            worker.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (worker.isAlive()) {
            worker.interrupt(); // waiting for a buffer the consumer never gave back
            try {
                worker.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private final class HostBuffer implements DeviceBuffer {
        final MemorySegment segment;
        private volatile long bytes;
        private final AtomicBoolean lent = new AtomicBoolean();

        HostBuffer(MemorySegment segment) {
            this.segment = segment;
        }

        void lend(long gathered) {
            bytes = gathered;
            lent.set(true);
        }

        @Override
        public long bytes() {
            return bytes;
        }

        @Override
        public MemorySegment hostView() {
            return segment.asSlice(0, bytes);
        }

        @Override
        public void copyToHost(MemorySegment dst) {
            MemorySegment.copy(segment, 0, dst, 0, bytes);
        }

        @Override
        public void recycle() {
            if (lent.compareAndSet(true, false)) {
                free.add(this);
            }
        }
    }
}
