package dev.devmem.samples.feeder;

/**
 * A device that gathers a batch's scattered records into one contiguous buffer of its own memory.
 *
 * <p>{@link #submit} never blocks (it runs on the devmem I/O thread): the device queues the batch and
 * later calls {@link GatherBatch#completed} once it no longer reads the batch's frags, or
 * {@link GatherBatch#failed} if it cannot gather it. Batches complete in submission order. Only then
 * does the feeder release the frags: completion-gated, like a TX region.
 */
public interface GatherDevice extends AutoCloseable {

    /** What it is, e.g. {@code host} or {@code cuda:0 NVIDIA H100}. */
    String name();

    /**
     * Whether the device reads DMABUF frags straight from the dmabuf (by offset), so the feeder need
     * not ask for a host view of them. LINEAR and HOST frags are always read from host memory.
     */
    boolean readsDmabufOnDevice();

    /** Queues {@code batch} for gathering; returns at once. */
    void submit(GatherBatch batch);

    /**
     * Stops the device: batches not yet gathered fail (so their frags are released), buffers the
     * consumer still holds stay valid until recycled. Idempotent.
     */
    @Override
    void close();
}
