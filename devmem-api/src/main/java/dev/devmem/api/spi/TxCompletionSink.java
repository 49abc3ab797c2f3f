package dev.devmem.api.spi;

/**
 * Receives the sends a {@link DevmemTxSocket} learned are complete: the kernel no longer reads
 * their memory, so it may be rewritten. Called on the I/O thread, in send order.
 */
@FunctionalInterface
public interface TxCompletionSink {

    /**
     * One send is complete.
     *
     * @param tag    what the caller passed to {@link DevmemTxSocket#send}
     * @param bytes  the bytes that send took (what {@code send} returned)
     * @param copied the kernel reported {@code SO_EE_CODE_ZEROCOPY_COPIED} for the notification that
     *               completed it: the bytes were copied rather than sent from the memory itself
     *               (always on loopback; never for device memory). The kernel sets it per
     *               notification, from the first send of a merged range
     */
    void completed(long tag, long bytes, boolean copied);
}
