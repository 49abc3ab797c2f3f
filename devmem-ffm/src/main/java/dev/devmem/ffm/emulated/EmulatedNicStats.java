package dev.devmem.ffm.emulated;

/**
 * Counters of an {@link EmulatedNic}, summed over its endpoints and live bindings.
 *
 * @param buffersFree         rx buffers in the pools of live bindings, ready to be filled
 * @param buffersHeld         rx buffers referenced by a queued skb or an outstanding token
 * @param tokensOutstanding   tokens handed out and not yet returned (DONTNEED or socket close)
 * @param stalls              reads of the wire skipped because a pool had no free buffer
 * @param headerSplitFailures packets whose payload started in the linear area (injected faults that fired)
 * @param skbs                emulated packets built from the wire (or the synthetic source)
 * @param dmabufFrags         {@code SCM_DEVMEM_DMABUF} cmsgs delivered
 * @param dmabufBytes         bytes those cmsgs reported
 * @param linearFrags         {@code SCM_DEVMEM_LINEAR} cmsgs delivered
 * @param linearBytes         bytes those cmsgs reported (copied to the caller's iov)
 * @param plainBytes          ordinary data returned without any devmem cmsg
 * @param tokensIssued        tokens handed out in total
 * @param tokensReleased      tokens freed (by DONTNEED or by closing the socket)
 */
public record EmulatedNicStats(int buffersFree, int buffersHeld, long tokensOutstanding, long stalls,
                               long headerSplitFailures, long skbs, long dmabufFrags, long dmabufBytes,
                               long linearFrags, long linearBytes, long plainBytes, long tokensIssued,
                               long tokensReleased) {
}
