package dev.devmem.ffm.dmabuf;

import dev.devmem.api.DevmemException;
import dev.devmem.api.DevmemUnsupportedException;
import dev.devmem.api.DmabufSource;
import dev.devmem.api.Errno;
import dev.devmem.api.SyscallException;
import dev.devmem.ffm.sys.Syscalls;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;

import static dev.devmem.ffm.sys.LinuxConstants.*;

/**
 * Makes dmabufs from the exporters devmem users have: udmabuf (host memory), DMA heaps, and the
 * CUDA driver (GPU memory), or adopts an fd the caller made. Each failure says which exporter is
 * missing and how to get it, because "no such file" for {@code /dev/udmabuf} helps nobody.
 */
public final class DmabufExporters {
    private DmabufExporters() {
    }

    public static final long PAGE_SIZE = 4096;
    public static final Path UDMABUF_DEVICE = Path.of("/dev/udmabuf");
    public static final Path DMA_HEAP_DIR = Path.of("/dev/dma_heap");

    /** The allocation for {@code source}. {@link DmabufSource.Emulated} is host memory for the emulated NIC only. */
    public static DmabufAllocation allocate(DmabufSource source) throws DevmemException {
        Objects.requireNonNull(source, "source");
        return switch (source) {
            case DmabufSource.Udmabuf u -> udmabuf(u.size());
            case DmabufSource.DmaHeap h -> dmaHeap(h.heap(), h.size());
            case DmabufSource.Cuda c -> CudaDmabuf.allocate(c.device(), c.size());
            case DmabufSource.Fd f -> new DmabufAllocation("fd", f.fd(), false, f.size(), null, null, null);
            case DmabufSource.Emulated e -> throw new DevmemUnsupportedException("emulated dmabuf", null,
                    "DmabufSource.emulated() is memory of the emulated devmem NIC; on a real NIC use udmabuf, "
                            + "dma-heap or cuda (or run on the emulated backend)");
        };
    }

    /**
     * Host memory as a dmabuf through {@code /dev/udmabuf}: a sealed memfd (F_SEAL_SHRINK; udmabuf
     * refuses F_SEAL_WRITE) wrapped by UDMABUF_CREATE, mapped so the application can read what the
     * NIC wrote. The size is rounded up to a page.
     */
    public static DmabufAllocation udmabuf(long size) throws DevmemException {
        long bytes = pageAlign(size);
        if (!Files.exists(UDMABUF_DEVICE)) {
            throw new DevmemUnsupportedException("udmabuf", null,
                    "udmabuf is not available: " + UDMABUF_DEVICE + " does not exist (load the module: modprobe udmabuf; "
                            + "it needs CONFIG_UDMABUF)");
        }
        int memfd = HostMemfd.create("devmem-udmabuf", bytes);
        int dev = -1;
        int dmabuf = -1;
        try {
            dev = Syscalls.open(UDMABUF_DEVICE.toString(), O_RDWR | O_CLOEXEC);
            if (dev < 0) {
                throw new SyscallException("open(" + UDMABUF_DEVICE + ")", Errno.of(-dev),
                        -dev == Errno.EACCES.number() ? "needs read-write access to " + UDMABUF_DEVICE : null);
            }
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment create = arena.allocate(24);
                create.set(ValueLayout.JAVA_INT, 0, memfd);
                create.set(ValueLayout.JAVA_INT, 4, 1); // UDMABUF_FLAGS_CLOEXEC
                create.set(ValueLayout.JAVA_LONG, 8, 0);
                create.set(ValueLayout.JAVA_LONG, 16, bytes);
                dmabuf = Syscalls.ioctl(dev, UDMABUF_CREATE, create);
            }
            if (dmabuf < 0) {
                Errno e = Errno.of(-dmabuf);
                throw new SyscallException("ioctl(UDMABUF_CREATE, " + bytes + " bytes)", e,
                        e.equals(Errno.EINVAL) ? "udmabuf caps a buffer at its size_limit_mb module parameter (default 64 MiB)"
                                : null);
            }
            DmabufAllocation a = mapped("udmabuf", dmabuf, bytes, () -> Syscalls.closeQuietly(memfd));
            dmabuf = -1;
            return a;
        } catch (DevmemException | RuntimeException e) {
            Syscalls.closeQuietly(dmabuf);
            Syscalls.closeQuietly(memfd);
            throw e;
        } finally {
            Syscalls.closeQuietly(dev);
        }
    }

    /** An allocation from {@code /dev/dma_heap/<heap>} (DMA_HEAP_IOCTL_ALLOC), mapped when the heap allows it. */
    public static DmabufAllocation dmaHeap(String heap, long size) throws DevmemException {
        Objects.requireNonNull(heap, "heap");
        if (heap.isEmpty() || heap.contains("/")) {
            throw new IllegalArgumentException("not a DMA heap name: " + heap);
        }
        long bytes = pageAlign(size);
        Path device = DMA_HEAP_DIR.resolve(heap);
        if (!Files.exists(device)) {
            throw new DevmemUnsupportedException("dma-heap " + heap, null,
                    "no DMA heap \"" + heap + "\": " + device + " does not exist (the system heap needs "
                            + "CONFIG_DMABUF_HEAPS_SYSTEM); heaps here: " + availableHeaps());
        }
        int dev = Syscalls.open(device.toString(), O_RDONLY | O_CLOEXEC);
        if (dev < 0) {
            throw new SyscallException("open(" + device + ")", Errno.of(-dev));
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment alloc = arena.allocate(24);
            alloc.set(ValueLayout.JAVA_LONG, 0, bytes);
            alloc.set(ValueLayout.JAVA_INT, 12, O_RDWR | O_CLOEXEC);
            alloc.set(ValueLayout.JAVA_LONG, 16, 0);
            Syscalls.check(Syscalls.ioctl(dev, DMA_HEAP_IOCTL_ALLOC, alloc), "ioctl(DMA_HEAP_IOCTL_ALLOC, " + bytes + " bytes)");
            int dmabuf = alloc.get(ValueLayout.JAVA_INT, 8);
            return mappedIfPossible("dma-heap:" + heap, dmabuf, bytes);
        } finally {
            Syscalls.closeQuietly(dev);
        }
    }

    /** Why the CUDA exporter cannot work here (the driver library is missing or too old), or empty when it loads. */
    public static java.util.Optional<String> cudaUnavailableReason() {
        return CudaDmabuf.unavailableReason();
    }

    /** The heaps under {@code /dev/dma_heap}, e.g. {@code [system]}. */
    public static java.util.List<String> availableHeaps() {
        if (!Files.isDirectory(DMA_HEAP_DIR)) {
            return java.util.List.of();
        }
        try (var s = Files.list(DMA_HEAP_DIR)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        } catch (java.io.IOException e) {
            return java.util.List.of();
        }
    }

    static long pageAlign(long size) {
        if (size <= 0) {
            throw new IllegalArgumentException("dmabuf size must be positive, was " + size);
        }
        return (size + PAGE_SIZE - 1) & -PAGE_SIZE;
    }

    private static DmabufAllocation mapped(String exporter, int dmabuf, long bytes, Runnable backing) throws SyscallException {
        Arena arena = Arena.ofShared();
        try {
            MemorySegment raw = Syscalls.mmap(bytes, PROT_READ | PROT_WRITE, MAP_SHARED, dmabuf, 0);
            MemorySegment view = raw.reinterpret(bytes, arena, seg -> Syscalls.munmap(seg, bytes));
            return new DmabufAllocation(exporter, dmabuf, true, bytes, arena, view, backing);
        } catch (SyscallException | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private static DmabufAllocation mappedIfPossible(String exporter, int dmabuf, long bytes) throws SyscallException {
        try {
            return mapped(exporter, dmabuf, bytes, null);
        } catch (SyscallException e) {
            // Some heaps hand out memory the CPU may not map; the dmabuf is still bindable.
            return new DmabufAllocation(exporter, dmabuf, true, bytes, null, null, null);
        } catch (RuntimeException e) {
            Syscalls.closeQuietly(dmabuf);
            throw e;
        }
    }
}
