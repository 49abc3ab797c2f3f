package dev.devmem.samples.feeder;

/**
 * What the batches are for (a training step, an inference queue). Called on the device's completion
 * thread, in batch order; it must eventually recycle each batch's buffer, and may do so later from
 * any thread.
 */
@FunctionalInterface
public interface BatchConsumer {
    void accept(GatheredBatch batch) throws Exception;
}
