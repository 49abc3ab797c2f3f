package dev.devmem.api;

import java.util.Objects;

/**
 * Where the device memory to bind comes from. The library creates and owns the dmabuf for the
 * exporter variants and closes it with the binding; {@link #ofFd} binds a dmabuf the caller made
 * and still owns.
 */
public sealed interface DmabufSource {

    /** Its size in bytes. */
    long size();

    /** Host memory wrapped as a dmabuf by {@code /dev/udmabuf} (a sealed memfd); host-mappable. */
    static DmabufSource udmabuf(long size) {
        return new Udmabuf(size);
    }

    /** An allocation from a DMA heap such as {@code /dev/dma_heap/system}. */
    static DmabufSource dmaHeap(String heap, long size) {
        return new DmaHeap(heap, size);
    }

    /** GPU memory exported by the CUDA driver ({@code cuMemGetHandleForAddressRange}). */
    static DmabufSource cuda(int device, long size) {
        return new Cuda(device, size);
    }

    /** A dmabuf file descriptor the caller owns; the library neither closes nor maps it. */
    static DmabufSource ofFd(int fd, long size) {
        return new Fd(fd, size);
    }

    /** Host memory (a memfd) that the emulated devmem NIC uses as its "device memory"; host-mappable. */
    static DmabufSource emulated(long size) {
        return new Emulated(size);
    }

    private static long positive(long size) {
        if (size <= 0) {
            throw new IllegalArgumentException("dmabuf size must be positive, was " + size);
        }
        return size;
    }

    record Udmabuf(long size) implements DmabufSource {
        public Udmabuf {
            positive(size);
        }
    }

    record DmaHeap(String heap, long size) implements DmabufSource {
        public DmaHeap {
            Objects.requireNonNull(heap, "heap");
            positive(size);
        }
    }

    record Cuda(int device, long size) implements DmabufSource {
        public Cuda {
            if (device < 0) {
                throw new IllegalArgumentException("CUDA device must be >= 0, was " + device);
            }
            positive(size);
        }
    }

    record Fd(int fd, long size) implements DmabufSource {
        public Fd {
            if (fd < 0) {
                throw new IllegalArgumentException("fd must be >= 0, was " + fd);
            }
            positive(size);
        }
    }

    record Emulated(long size) implements DmabufSource {
        public Emulated {
            positive(size);
        }
    }
}
