package dev.devmem.samples.feeder.cuda;

import dev.devmem.api.DevmemException;
import dev.devmem.samples.feeder.DeviceBuffer;
import dev.devmem.samples.feeder.GatherBatch;
import dev.devmem.samples.feeder.GatherDevice;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The gather done by the GPU's copy engine: for each batch, one {@code cuMemcpyDtoDAsync} per run of
 * pieces that are contiguous both in the dmabuf and in the batch (adjacent frags of one record
 * usually are), from the GPU dmabuf the NIC received into to a contiguous device batch buffer, then a
 * {@code cuEventRecord} on the device's stream. Pieces in host memory (LINEAR frags of failed header
 * splits, or the whole stream when the dmabuf is host memory, as on the emulated NIC) go up with
 * {@code cuMemcpyHtoDAsync}. A batch completes when its event does ({@code cuEventQuery} polled in
 * order, no host callback), and only then are its frags released: the NIC may reuse the memory after
 * the copy engine has read it, not before.
 *
 * <p>One worker thread owns the stream: it issues batches while a device buffer is free and polls the
 * events of those in flight. {@link #submit} and {@link DeviceBuffer#recycle()} only enqueue and wake it.
 */
public final class CudaGatherDevice implements GatherDevice {
    private final CudaGpu gpu;
    private final CudaDriver driver;
    /** The device address of dmabuf offset 0, or null when the dmabuf is host memory. */
    private final java.util.function.LongSupplier dmabufPointer;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment stream;
    private final List<GpuBuffer> buffers = new ArrayList<>();
    private final ConcurrentLinkedQueue<GpuBuffer> free = new ConcurrentLinkedQueue<>();
    private final ConcurrentLinkedQueue<GatherBatch> pending = new ConcurrentLinkedQueue<>();
    private final ArrayDeque<GpuBuffer> inFlight = new ArrayDeque<>();
    private final AtomicBoolean closing = new AtomicBoolean();
    private final Thread worker;

    /**
     * A device on {@code gpu} with {@code bufferCount} batch buffers of {@code bufferBytes} in GPU memory.
     * {@code dmabuf} is the GPU dmabuf the NIC receives into (its DMABUF frags are copied on the device),
     * or null when the dmabuf is host memory.
     */
    public CudaGatherDevice(CudaGpu gpu, CudaDmabuf dmabuf, int bufferCount, long bufferBytes) throws DevmemException {
        this(gpu, dmabuf == null ? null : dmabuf::devicePointer, bufferCount, bufferBytes);
    }

    /**
     * As above, with the dmabuf's device address given by {@code dmabufPointer} (asked once per batch),
     * for a dmabuf that the device can address but that this sample did not allocate.
     */
    public CudaGatherDevice(CudaGpu gpu, java.util.function.LongSupplier dmabufPointer, int bufferCount,
                            long bufferBytes) throws DevmemException {
        if (bufferCount < 1) {
            throw new IllegalArgumentException("buffers must be positive, was " + bufferCount);
        }
        this.gpu = gpu;
        this.driver = gpu.driver();
        this.dmabufPointer = dmabufPointer;
        gpu.makeCurrent();
        MemorySegment out = arena.allocate(8);
        driver.check(driver.streamCreate(out, CudaDriver.CU_STREAM_NON_BLOCKING), "cuStreamCreate");
        stream = out.get(ADDRESS, 0);
        try {
            for (int i = 0; i < bufferCount; i++) {
                driver.check(driver.memAlloc(out, bufferBytes), "cuMemAlloc(" + bufferBytes + ")");
                long dptr = out.get(JAVA_LONG, 0);
                int r = driver.eventCreate(out, CudaDriver.CU_EVENT_DISABLE_TIMING);
                if (r != CudaDriver.CUDA_SUCCESS) {
                    driver.memFree(dptr);
                    driver.check(r, "cuEventCreate");
                }
                GpuBuffer b = new GpuBuffer(dptr, out.get(ADDRESS, 0));
                buffers.add(b);
                free.add(b);
            }
        } catch (DevmemException e) {
            releaseDeviceMemory();
            throw e;
        }
        worker = Thread.ofPlatform().daemon().name("gather-cuda").start(this::run);
    }

    @Override
    public String name() {
        return "cuda:" + gpu.device() + " " + gpu.name();
    }

    @Override
    public boolean readsDmabufOnDevice() {
        return dmabufPointer != null;
    }

    @Override
    public void submit(GatherBatch batch) {
        if (closing.get()) {
            batch.failed(new IllegalStateException("the CUDA gather device is closed"));
            return;
        }
        pending.add(batch);
        LockSupport.unpark(worker);
    }

    private void run() {
        try {
            gpu.makeCurrent();
        } catch (CudaException e) {
            failPending(e);
            return;
        }
        while (true) {
            boolean progressed = issue() | complete();
            if (closing.get() && inFlight.isEmpty()) {
                break;
            }
            if (!progressed) {
                LockSupport.parkNanos(inFlight.isEmpty() ? 10_000_000L : 20_000L);
            }
        }
        failPending(new IllegalStateException("the CUDA gather device closed"));
    }

    /** Starts batches while a device buffer is free. */
    private boolean issue() {
        boolean any = false;
        while (!closing.get() && !pending.isEmpty() && !free.isEmpty()) {
            GpuBuffer buffer = free.poll();
            GatherBatch batch = pending.poll();
            int r = copies(batch, buffer.pointer);
            // recorded even after a failed copy: the copies issued before it may still be reading the
            // frags, and the frags go back only once the event says the stream got past them
            int recorded = driver.eventRecord(buffer.event, stream);
            buffer.batch = batch;
            buffer.result = r != CudaDriver.CUDA_SUCCESS ? r : recorded;
            inFlight.add(buffer); // even on failure: earlier copies may still be reading the frags
            any = true;
        }
        return any;
    }

    private int copies(GatherBatch batch, long into) {
        long base = dmabufPointer == null ? 0 : dmabufPointer.getAsLong();
        int n = batch.pieces();
        int p = 0;
        while (p < n) {
            long dst = into + batch.destination(p);
            int r;
            if (base != 0 && batch.inDmabuf(p)) {
                long src = base + batch.dmabufOffset(p);
                long len = batch.length(p);
                int q = p + 1;
                while (q < n && batch.inDmabuf(q) && batch.dmabufOffset(q) == batch.dmabufOffset(q - 1) + batch.length(q - 1)
                        && batch.destination(q) == batch.destination(q - 1) + batch.length(q - 1)) {
                    len += batch.length(q);
                    q++;
                }
                r = driver.memcpyDtoDAsync(dst, src, len, stream);
                p = q;
            } else {
                MemorySegment src = batch.hostFrag(p).asSlice(batch.fragOffset(p), batch.length(p));
                r = driver.memcpyHtoDAsync(dst, src, batch.length(p), stream);
                p++;
            }
            if (r != CudaDriver.CUDA_SUCCESS) {
                return r;
            }
        }
        return CudaDriver.CUDA_SUCCESS;
    }

    /** Completes, in order, the batches whose events have fired. */
    private boolean complete() {
        boolean any = false;
        GpuBuffer buffer;
        while ((buffer = inFlight.peek()) != null) {
            int r = driver.eventQuery(buffer.event);
            if (r == CudaDriver.CUDA_ERROR_NOT_READY) {
                break;
            }
            inFlight.poll();
            GatherBatch batch = buffer.batch;
            buffer.batch = null;
            any = true;
            if (buffer.result != CudaDriver.CUDA_SUCCESS || r != CudaDriver.CUDA_SUCCESS) {
                int bad = buffer.result != CudaDriver.CUDA_SUCCESS ? buffer.result : r;
                free.add(buffer);
                batch.failed(new CudaException("gathering batch " + batch.sequence() + " failed: "
                        + driver.errorName(bad), bad));
            } else {
                buffer.lend(batch.bytes());
                batch.completed(buffer);
            }
        }
        return any;
    }

    private void failPending(Exception cause) {
        GatherBatch b;
        while ((b = pending.poll()) != null) {
            b.failed(cause);
        }
    }

    @Override
    public void close() {
        if (!closing.compareAndSet(false, true)) {
            return;
        }
        LockSupport.unpark(worker);
        try {
            worker.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        releaseDeviceMemory();
    }

    private synchronized void releaseDeviceMemory() {
        try {
            gpu.makeCurrent();
        } catch (CudaException e) {
            return; // the context is gone, and the memory with it
        }
        for (GpuBuffer b : buffers) {
            if (!b.lent.get() && !b.freed) {
                b.freed = true;
                driver.memFree(b.pointer);
                driver.eventDestroy(b.event);
            }
        }
        driver.streamDestroy(stream);
    }

    private final class GpuBuffer implements DeviceBuffer {
        final long pointer;
        final MemorySegment event;
        final AtomicBoolean lent = new AtomicBoolean();
        GatherBatch batch;
        int result;
        volatile long bytes;
        boolean freed;

        GpuBuffer(long pointer, MemorySegment event) {
            this.pointer = pointer;
            this.event = event;
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
            return null;
        }

        @Override
        public void copyToHost(MemorySegment dst) {
            try {
                gpu.makeCurrent();
                driver.check(driver.memcpyDtoH(dst, pointer, bytes), "cuMemcpyDtoH");
            } catch (CudaException e) {
                throw new IllegalStateException(e.getMessage(), e);
            }
        }

        @Override
        public void recycle() {
            if (!lent.compareAndSet(true, false)) {
                return;
            }
            if (closing.get()) {
                synchronized (CudaGatherDevice.this) {
                    if (!freed) {
                        try {
                            gpu.makeCurrent();
                        } catch (CudaException e) {
                            return;
                        }
                        freed = true;
                        driver.memFree(pointer);
                        driver.eventDestroy(event);
                    }
                }
                return;
            }
            free.add(this);
            LockSupport.unpark(worker);
        }
    }
}
