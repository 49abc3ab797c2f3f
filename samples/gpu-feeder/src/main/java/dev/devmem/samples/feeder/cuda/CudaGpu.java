package dev.devmem.samples.feeder.cuda;

import dev.devmem.api.DevmemException;
import dev.devmem.api.DevmemUnsupportedException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * One CUDA device with its primary context retained: {@link #open} initialises the driver and
 * finds the device, or says exactly why there is none; {@link #close()} releases the context.
 * Threads that call the driver make the context current first ({@link #makeCurrent()}).
 */
public final class CudaGpu implements AutoCloseable {
    private final CudaDriver driver;
    private final int device;
    private final String name;
    private final boolean dmabufSupported;
    private final MemorySegment context;
    private boolean closed;

    private CudaGpu(CudaDriver driver, int device, String name, boolean dmabufSupported, MemorySegment context) {
        this.driver = driver;
        this.device = device;
        this.name = name;
        this.dmabufSupported = dmabufSupported;
        this.context = context;
    }

    /**
     * Device {@code ordinal}: {@link DevmemUnsupportedException} with the reason when the driver cannot
     * be loaded, cuInit fails (no device, driver/kernel-module mismatch) or there is no such device.
     */
    public static CudaGpu open(int ordinal) throws DevmemException {
        return open(CudaDriver.load(), ordinal);
    }

    /** Device {@code ordinal} of driver {@code d}. */
    public static CudaGpu open(CudaDriver d, int ordinal) throws DevmemException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(8);
            int r = d.init();
            if (r != CudaDriver.CUDA_SUCCESS) {
                throw new DevmemUnsupportedException("CUDA", null, "cuInit failed: " + d.errorName(r)
                        + " (no usable NVIDIA GPU, or the driver does not match its kernel module)");
            }
            d.check(d.deviceGetCount(out), "cuDeviceGetCount");
            int count = out.get(JAVA_INT, 0);
            if (ordinal >= count) {
                throw new DevmemUnsupportedException("CUDA", null, count == 0 ? "no CUDA device (cuDeviceGetCount = 0)"
                        : "no CUDA device " + ordinal + " (cuDeviceGetCount = " + count + ")");
            }
            d.check(d.deviceGet(out, ordinal), "cuDeviceGet(" + ordinal + ")");
            int dev = out.get(JAVA_INT, 0);
            MemorySegment nameBuf = arena.allocate(256);
            d.check(d.deviceGetName(nameBuf, 256, dev), "cuDeviceGetName");
            String name = nameBuf.getString(0);
            d.check(d.deviceGetAttribute(out, CudaDriver.CU_DEVICE_ATTRIBUTE_DMA_BUF_SUPPORTED, dev),
                    "cuDeviceGetAttribute(DMA_BUF_SUPPORTED)");
            boolean dmabuf = out.get(JAVA_INT, 0) != 0;
            d.check(d.primaryCtxRetain(out, dev), "cuDevicePrimaryCtxRetain");
            return new CudaGpu(d, dev, name, dmabuf, out.get(ADDRESS, 0));
        }
    }

    /** Why CUDA cannot be used here, or null when device {@code ordinal} opens. */
    public static String unavailableReason(int ordinal) {
        try {
            open(ordinal).close();
            return null;
        } catch (DevmemException e) {
            return e.getMessage();
        }
    }

    public CudaDriver driver() {
        return driver;
    }

    public String name() {
        return name;
    }

    public int device() {
        return device;
    }

    /** Whether the device can export its memory as a dmabuf (NVIDIA's open kernel modules can). */
    public boolean dmabufSupported() {
        return dmabufSupported;
    }

    /** Makes this device's primary context current on the calling thread. */
    public void makeCurrent() throws CudaException {
        driver.check(driver.ctxSetCurrent(context), "cuCtxSetCurrent");
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            driver.primaryCtxRelease(device);
        }
    }
}
