package dev.devmem.ffm.dmabuf;

import dev.devmem.api.DevmemException;
import dev.devmem.api.DevmemUnsupportedException;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.util.Optional;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * GPU memory as a dmabuf through the CUDA driver API ({@code libcuda.so.1}, loaded at run time so
 * the library has no CUDA dependency): cuMemAlloc, then cuMemGetHandleForAddressRange with
 * CU_MEM_RANGE_HANDLE_TYPE_DMA_BUF_FD (CUDA 11.7+). The device must report
 * CU_DEVICE_ATTRIBUTE_DMA_BUF_SUPPORTED, which NVIDIA's open kernel modules do and the proprietary
 * ones do not.
 */
final class CudaDmabuf {
    private CudaDmabuf() {
    }

    static final String LIBRARY = "libcuda.so.1";
    private static final int CU_DEVICE_ATTRIBUTE_DMA_BUF_SUPPORTED = 124;
    private static final int CU_MEM_RANGE_HANDLE_TYPE_DMA_BUF_FD = 1;
    /** GPU allocations are rounded to 2 MiB so that address and size are host-page aligned, as the driver requires. */
    private static final long GRANULE = 2L << 20;

    /** Whether the CUDA driver library can be loaded here, and if not, why. */
    static Optional<String> unavailableReason() {
        try {
            Driver.get();
            return Optional.empty();
        } catch (DevmemUnsupportedException e) {
            return Optional.of(e.getMessage());
        }
    }

    static DmabufAllocation allocate(int device, long size) throws DevmemException {
        Driver d = Driver.get();
        long bytes = (size + GRANULE - 1) / GRANULE * GRANULE;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(8);
            d.check(d.call(d.cuInit, 0), "cuInit");
            d.check(d.call(d.cuDeviceGet, out, device), "cuDeviceGet(" + device + ")");
            int dev = out.get(JAVA_INT, 0);
            d.check(d.call(d.cuDeviceGetAttribute, out, CU_DEVICE_ATTRIBUTE_DMA_BUF_SUPPORTED, dev),
                    "cuDeviceGetAttribute(DMA_BUF_SUPPORTED)");
            if (out.get(JAVA_INT, 0) == 0) {
                throw new DevmemUnsupportedException("CUDA dmabuf", null, "CUDA device " + device
                        + " does not support dma-buf export (CU_DEVICE_ATTRIBUTE_DMA_BUF_SUPPORTED = 0); "
                        + "NVIDIA's open kernel modules support it, the proprietary ones do not");
            }
            d.check(d.call(d.cuDevicePrimaryCtxRetain, out, dev), "cuDevicePrimaryCtxRetain");
            MemorySegment ctx = out.get(ADDRESS, 0);
            boolean ok = false;
            long dptr = 0;
            try {
                d.check(d.callPtr(d.cuCtxSetCurrent, ctx), "cuCtxSetCurrent");
                d.check(d.call(d.cuMemAlloc, out, bytes), "cuMemAlloc(" + bytes + ")");
                dptr = out.get(JAVA_LONG, 0);
                if ((dptr & (DmabufExporters.PAGE_SIZE - 1)) != 0) {
                    throw new DevmemException("cuMemAlloc returned 0x" + Long.toHexString(dptr)
                            + ", not page-aligned; dma-buf export needs page alignment");
                }
                d.check(d.callExport(out, dptr, bytes), "cuMemGetHandleForAddressRange(DMA_BUF_FD)");
                int fd = out.get(JAVA_INT, 0);
                long freeAddr = dptr;
                DmabufAllocation a = new DmabufAllocation("cuda:" + device, fd, true, bytes, null, null, () -> {
                    d.call(d.cuMemFree, freeAddr);
                    d.call(d.cuDevicePrimaryCtxRelease, dev);
                });
                ok = true;
                return a;
            } finally {
                if (!ok) {
                    if (dptr != 0) {
                        d.call(d.cuMemFree, dptr);
                    }
                    d.call(d.cuDevicePrimaryCtxRelease, dev);
                }
            }
        }
    }

    /** The driver entry points, resolved once. */
    private static final class Driver {
        private static volatile Driver instance;
        private static volatile String failure;

        final MethodHandle cuInit;
        final MethodHandle cuDeviceGet;
        final MethodHandle cuDeviceGetAttribute;
        final MethodHandle cuDevicePrimaryCtxRetain;
        final MethodHandle cuDevicePrimaryCtxRelease;
        final MethodHandle cuCtxSetCurrent;
        final MethodHandle cuMemAlloc;
        final MethodHandle cuMemFree;
        final MethodHandle cuMemGetHandleForAddressRange;
        final MethodHandle cuGetErrorName;

        private Driver(SymbolLookup lib) {
            Linker l = Linker.nativeLinker();
            cuInit = h(l, lib, "cuInit", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
            cuDeviceGet = h(l, lib, "cuDeviceGet", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
            cuDeviceGetAttribute = h(l, lib, "cuDeviceGetAttribute", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
            cuDevicePrimaryCtxRetain = h(l, lib, "cuDevicePrimaryCtxRetain", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
            cuDevicePrimaryCtxRelease = h(l, lib, "cuDevicePrimaryCtxRelease_v2", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
            cuCtxSetCurrent = h(l, lib, "cuCtxSetCurrent", FunctionDescriptor.of(JAVA_INT, ADDRESS));
            cuMemAlloc = h(l, lib, "cuMemAlloc_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG));
            cuMemFree = h(l, lib, "cuMemFree_v2", FunctionDescriptor.of(JAVA_INT, JAVA_LONG));
            cuMemGetHandleForAddressRange = h(l, lib, "cuMemGetHandleForAddressRange",
                    FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_LONG));
            cuGetErrorName = h(l, lib, "cuGetErrorName", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
        }

        static Driver get() throws DevmemUnsupportedException {
            Driver d = instance;
            if (d != null) {
                return d;
            }
            synchronized (Driver.class) {
                if (instance == null && failure == null) {
                    try {
                        instance = new Driver(SymbolLookup.libraryLookup(LIBRARY, Arena.global()));
                    } catch (IllegalArgumentException e) {
                        failure = "the CUDA driver library " + LIBRARY + " cannot be loaded (no NVIDIA driver "
                                + "installed, or not on the loader path)";
                    } catch (UnsatisfiedLinkError e) {
                        failure = "the CUDA driver " + LIBRARY + " lacks " + e.getMessage()
                                + " (dma-buf export needs CUDA 11.7 or later)";
                    }
                }
                if (instance == null) {
                    throw new DevmemUnsupportedException("CUDA", null, failure);
                }
                return instance;
            }
        }

        private static MethodHandle h(Linker l, SymbolLookup lib, String name, FunctionDescriptor fd) {
            return l.downcallHandle(lib.find(name).orElseThrow(() -> new UnsatisfiedLinkError(name)), fd);
        }

        int call(MethodHandle h, Object... args) {
            try {
                return (int) h.invokeWithArguments(args);
            } catch (Throwable t) {
                throw new IllegalStateException("CUDA call failed", t);
            }
        }

        int callPtr(MethodHandle h, MemorySegment p) {
            return call(h, p);
        }

        int callExport(MemorySegment fdOut, long dptr, long bytes) {
            return call(cuMemGetHandleForAddressRange, fdOut, dptr, bytes, CU_MEM_RANGE_HANDLE_TYPE_DMA_BUF_FD, 0L);
        }

        void check(int result, String operation) throws DevmemException {
            if (result == 0) {
                return;
            }
            String name = "CUDA error " + result;
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment p = arena.allocate(ADDRESS);
                if (call(cuGetErrorName, result, p) == 0) {
                    name = p.get(ADDRESS, 0).reinterpret(64).getString(0) + " (" + result + ")";
                }
            }
            throw new DevmemException(operation + " failed: " + name);
        }
    }

}
