package dev.devmem.samples.feeder.cuda;

import dev.devmem.api.DevmemException;
import dev.devmem.api.DevmemUnsupportedException;
import dev.devmem.api.DmabufSource;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * GPU memory exported as a dmabuf that the NIC receives into: cuMemAlloc, then
 * cuMemGetHandleForAddressRange(CU_MEM_RANGE_HANDLE_TYPE_DMA_BUF_FD), bound with
 * {@link DmabufSource#ofFd}. The feeder allocates it itself, rather than through
 * {@link DmabufSource#cuda}, because it needs the device pointer: a DMABUF frag at dmabuf offset
 * {@code o} is then at {@code devicePointer() + o}, the source of {@code cuMemcpyDtoDAsync}. The
 * library's CUDA source does the same calls but keeps the pointer to itself.
 */
public final class CudaDmabuf implements AutoCloseable {
    /** The driver wants host-page-aligned address and size; 2 MiB is what cuMemAlloc aligns large allocations to. */
    private static final long GRANULE = 2L << 20;
    private static final MethodHandle CLOSE = Linker.nativeLinker().downcallHandle(
            Linker.nativeLinker().defaultLookup().find("close").orElseThrow(), FunctionDescriptor.of(JAVA_INT, JAVA_INT));

    private final CudaGpu gpu;
    private final long devicePointer;
    private final long size;
    private final int fd;
    private boolean closed;

    private CudaDmabuf(CudaGpu gpu, long devicePointer, long size, int fd) {
        this.gpu = gpu;
        this.devicePointer = devicePointer;
        this.size = size;
        this.fd = fd;
    }

    /** {@code size} bytes (rounded up to 2 MiB) of GPU memory as a dmabuf fd. */
    public static CudaDmabuf allocate(CudaGpu gpu, long size) throws DevmemException {
        if (!gpu.dmabufSupported()) {
            throw new DevmemUnsupportedException("CUDA dmabuf", null, "CUDA device " + gpu.device() + " ("
                    + gpu.name() + ") does not support dma-buf export (CU_DEVICE_ATTRIBUTE_DMA_BUF_SUPPORTED = 0); "
                    + "NVIDIA's open kernel modules support it, the proprietary ones do not");
        }
        CudaDriver d = gpu.driver();
        long bytes = (size + GRANULE - 1) / GRANULE * GRANULE;
        gpu.makeCurrent();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(8);
            d.check(d.memAlloc(out, bytes), "cuMemAlloc(" + bytes + ")");
            long dptr = out.get(JAVA_LONG, 0);
            int r = d.memGetDmabufFd(out, dptr, bytes);
            if (r != CudaDriver.CUDA_SUCCESS) {
                d.memFree(dptr);
                d.check(r, "cuMemGetHandleForAddressRange(DMA_BUF_FD)");
            }
            return new CudaDmabuf(gpu, dptr, bytes, out.get(JAVA_INT, 0));
        }
    }

    /** What to bind: the dmabuf fd, which this object keeps owning. */
    public DmabufSource source() {
        return DmabufSource.ofFd(fd, size);
    }

    public long devicePointer() {
        return devicePointer;
    }

    public long size() {
        return size;
    }

    /** Closes the fd and frees the GPU memory; call after the binding is gone. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            int ignored = (int) CLOSE.invokeExact(fd);
        } catch (Throwable t) {
            throw new IllegalStateException("close(" + fd + ")", t);
        }
        try {
            gpu.makeCurrent();
        } catch (CudaException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
        gpu.driver().memFree(devicePointer);
    }
}
