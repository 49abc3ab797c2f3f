package dev.devmem.samples.feeder.cuda;

import dev.devmem.api.DevmemUnsupportedException;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The few CUDA driver API entry points the feeder needs, bound with FFM at run time from
 * {@code libcuda.so.1} (no build-time CUDA dependency; signatures as in {@code cuda.h} of CUDA 12/13,
 * with the {@code _v2} symbols its macros select). The library's own CUDA exporter is internal to
 * devmem-ffm, so the sample binds its own.
 *
 * <p>{@link #load()} keeps the reason the driver cannot be used, for a clear report; every call
 * returns the {@code CUresult}, and {@link #check} turns a failure into an exception naming the
 * call and the error ({@code cuGetErrorName}).
 */
public final class CudaDriver {
    /** The driver library; {@code -Dgpu.feeder.libcuda=/path/to/libcuda.so.1} loads another file. */
    public static final String LIBRARY = System.getProperty("gpu.feeder.libcuda", "libcuda.so.1");
    static final int CUDA_SUCCESS = 0;
    static final int CUDA_ERROR_NOT_READY = 600;
    static final int CU_DEVICE_ATTRIBUTE_DMA_BUF_SUPPORTED = 124;
    static final int CU_MEM_RANGE_HANDLE_TYPE_DMA_BUF_FD = 1;
    static final int CU_STREAM_NON_BLOCKING = 1;
    static final int CU_EVENT_DISABLE_TIMING = 2;

    private static final Object LOCK = new Object();
    private static CudaDriver instance;
    private static String failure;

    private final MethodHandle cuInit;
    private final MethodHandle cuDeviceGetCount;
    private final MethodHandle cuDeviceGet;
    private final MethodHandle cuDeviceGetName;
    private final MethodHandle cuDeviceGetAttribute;
    private final MethodHandle cuDevicePrimaryCtxRetain;
    private final MethodHandle cuDevicePrimaryCtxRelease;
    private final MethodHandle cuCtxSetCurrent;
    private final MethodHandle cuStreamCreate;
    private final MethodHandle cuStreamDestroy;
    private final MethodHandle cuMemAlloc;
    private final MethodHandle cuMemFree;
    private final MethodHandle cuMemGetHandleForAddressRange;
    private final MethodHandle cuMemcpyDtoDAsync;
    private final MethodHandle cuMemcpyHtoDAsync;
    private final MethodHandle cuMemcpyDtoH;
    private final MethodHandle cuEventCreate;
    private final MethodHandle cuEventRecord;
    private final MethodHandle cuEventQuery;
    private final MethodHandle cuEventDestroy;
    private final MethodHandle cuGetErrorName;

    private CudaDriver(SymbolLookup lib) {
        cuInit = h(lib, "cuInit", JAVA_INT);
        cuDeviceGetCount = h(lib, "cuDeviceGetCount", ADDRESS);
        cuDeviceGet = h(lib, "cuDeviceGet", ADDRESS, JAVA_INT);
        cuDeviceGetName = h(lib, "cuDeviceGetName", ADDRESS, JAVA_INT, JAVA_INT);
        cuDeviceGetAttribute = h(lib, "cuDeviceGetAttribute", ADDRESS, JAVA_INT, JAVA_INT);
        cuDevicePrimaryCtxRetain = h(lib, "cuDevicePrimaryCtxRetain", ADDRESS, JAVA_INT);
        cuDevicePrimaryCtxRelease = h(lib, "cuDevicePrimaryCtxRelease_v2", JAVA_INT);
        cuCtxSetCurrent = h(lib, "cuCtxSetCurrent", ADDRESS);
        cuStreamCreate = h(lib, "cuStreamCreate", ADDRESS, JAVA_INT);
        cuStreamDestroy = h(lib, "cuStreamDestroy_v2", ADDRESS);
        cuMemAlloc = h(lib, "cuMemAlloc_v2", ADDRESS, JAVA_LONG);
        cuMemFree = h(lib, "cuMemFree_v2", JAVA_LONG);
        cuMemGetHandleForAddressRange = h(lib, "cuMemGetHandleForAddressRange",
                ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_LONG);
        cuMemcpyDtoDAsync = h(lib, "cuMemcpyDtoDAsync_v2", JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS);
        cuMemcpyHtoDAsync = h(lib, "cuMemcpyHtoDAsync_v2", JAVA_LONG, ADDRESS, JAVA_LONG, ADDRESS);
        cuMemcpyDtoH = h(lib, "cuMemcpyDtoH_v2", ADDRESS, JAVA_LONG, JAVA_LONG);
        cuEventCreate = h(lib, "cuEventCreate", ADDRESS, JAVA_INT);
        cuEventRecord = h(lib, "cuEventRecord", ADDRESS, ADDRESS);
        cuEventQuery = h(lib, "cuEventQuery", ADDRESS);
        cuEventDestroy = h(lib, "cuEventDestroy_v2", ADDRESS);
        cuGetErrorName = h(lib, "cuGetErrorName", JAVA_INT, ADDRESS);
    }

    /**
     * A driver from another file, not cached: for a stand-in driver in tests. {@link IllegalArgumentException}
     * when it cannot be loaded, {@link UnsatisfiedLinkError} when it lacks an entry point.
     */
    public static CudaDriver load(java.nio.file.Path library, Arena arena) {
        return new CudaDriver(SymbolLookup.libraryLookup(library, arena));
    }

    /** The driver, or {@link DevmemUnsupportedException} saying why it cannot be loaded. */
    public static CudaDriver load() throws DevmemUnsupportedException {
        synchronized (LOCK) {
            if (instance == null && failure == null) {
                try {
                    instance = new CudaDriver(SymbolLookup.libraryLookup(LIBRARY, Arena.global()));
                } catch (IllegalArgumentException e) {
                    failure = "the CUDA driver library " + LIBRARY + " cannot be loaded (no NVIDIA driver installed, "
                            + "or not on the loader path): " + e.getMessage();
                } catch (UnsatisfiedLinkError e) {
                    failure = "the CUDA driver " + LIBRARY + " lacks " + e.getMessage()
                            + " (the feeder needs CUDA 11.7 or later)";
                }
            }
            if (instance == null) {
                throw new DevmemUnsupportedException("CUDA", null, failure);
            }
            return instance;
        }
    }

    private static MethodHandle h(SymbolLookup lib, String name, java.lang.foreign.MemoryLayout... args) {
        MemorySegment symbol = lib.find(name).orElseThrow(() -> new UnsatisfiedLinkError(name));
        return Linker.nativeLinker().downcallHandle(symbol, FunctionDescriptor.of(JAVA_INT, args));
    }

    private static int call(MethodHandle h, Object... args) {
        try {
            return (int) h.invokeWithArguments(args);
        } catch (Throwable t) {
            throw new IllegalStateException("calling the CUDA driver failed", t);
        }
    }

    public int init() {
        return call(cuInit, 0);
    }

    public int deviceGetCount(MemorySegment count) {
        return call(cuDeviceGetCount, count);
    }

    public int deviceGet(MemorySegment device, int ordinal) {
        return call(cuDeviceGet, device, ordinal);
    }

    public int deviceGetName(MemorySegment name, int length, int device) {
        return call(cuDeviceGetName, name, length, device);
    }

    public int deviceGetAttribute(MemorySegment value, int attribute, int device) {
        return call(cuDeviceGetAttribute, value, attribute, device);
    }

    public int primaryCtxRetain(MemorySegment ctx, int device) {
        return call(cuDevicePrimaryCtxRetain, ctx, device);
    }

    public int primaryCtxRelease(int device) {
        return call(cuDevicePrimaryCtxRelease, device);
    }

    public int ctxSetCurrent(MemorySegment ctx) {
        return call(cuCtxSetCurrent, ctx);
    }

    public int streamCreate(MemorySegment stream, int flags) {
        return call(cuStreamCreate, stream, flags);
    }

    public int streamDestroy(MemorySegment stream) {
        return call(cuStreamDestroy, stream);
    }

    public int memAlloc(MemorySegment dptr, long bytes) {
        return call(cuMemAlloc, dptr, bytes);
    }

    public int memFree(long dptr) {
        return call(cuMemFree, dptr);
    }

    public int memGetDmabufFd(MemorySegment fd, long dptr, long bytes) {
        return call(cuMemGetHandleForAddressRange, fd, dptr, bytes, CU_MEM_RANGE_HANDLE_TYPE_DMA_BUF_FD, 0L);
    }

    public int memcpyDtoDAsync(long dst, long src, long bytes, MemorySegment stream) {
        try {
            return (int) cuMemcpyDtoDAsync.invokeExact(dst, src, bytes, stream);
        } catch (Throwable t) {
            throw new IllegalStateException("calling the CUDA driver failed", t);
        }
    }

    public int memcpyHtoDAsync(long dst, MemorySegment src, long bytes, MemorySegment stream) {
        try {
            return (int) cuMemcpyHtoDAsync.invokeExact(dst, src, bytes, stream);
        } catch (Throwable t) {
            throw new IllegalStateException("calling the CUDA driver failed", t);
        }
    }

    public int memcpyDtoH(MemorySegment dst, long src, long bytes) {
        return call(cuMemcpyDtoH, dst, src, bytes);
    }

    public int eventCreate(MemorySegment event, int flags) {
        return call(cuEventCreate, event, flags);
    }

    public int eventRecord(MemorySegment event, MemorySegment stream) {
        return call(cuEventRecord, event, stream);
    }

    public int eventQuery(MemorySegment event) {
        try {
            return (int) cuEventQuery.invokeExact(event);
        } catch (Throwable t) {
            throw new IllegalStateException("calling the CUDA driver failed", t);
        }
    }

    public int eventDestroy(MemorySegment event) {
        return call(cuEventDestroy, event);
    }

    /** Throws {@link CudaException} naming {@code operation} and the error when {@code result} is not CUDA_SUCCESS. */
    public void check(int result, String operation) throws CudaException {
        if (result != CUDA_SUCCESS) {
            throw new CudaException(operation + " failed: " + errorName(result), result);
        }
    }

    /** {@code cuGetErrorName}, e.g. {@code CUDA_ERROR_NO_DEVICE (100)}. */
    public String errorName(int result) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment p = arena.allocate(ADDRESS);
            if (call(cuGetErrorName, result, p) == CUDA_SUCCESS && !p.get(ADDRESS, 0).equals(MemorySegment.NULL)) {
                return p.get(ADDRESS, 0).reinterpret(128).getString(0) + " (" + result + ")";
            }
        }
        return "CUDA error " + result;
    }
}
