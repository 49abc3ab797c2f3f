package dev.devmem.samples.feeder;

import java.lang.foreign.MemorySegment;

/**
 * A contiguous batch buffer in the device's memory, holding the gathered records. The consumer must
 * {@link #recycle()} it when done (the device has a fixed number of them, so a consumer that holds
 * buffers stops the gathering, and with it the release of frags: that is the backpressure path).
 */
public interface DeviceBuffer {

    /** The bytes gathered into it. */
    long bytes();

    /** A host view of the gathered bytes, or null when the buffer is device memory. */
    MemorySegment hostView();

    /** Copies the gathered bytes to {@code dst} (host memory), waiting for the copy to finish. */
    void copyToHost(MemorySegment dst);

    /** Gives the buffer back to the device. Idempotent. */
    void recycle();
}
