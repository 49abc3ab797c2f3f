package dev.devmem.ffm.emulated;

/**
 * Counters of one {@link EmulatedEndpoint}.
 *
 * @param recvCalls           recvmsg calls answered
 * @param tokensOutstanding   tokens handed out and not yet returned
 * @param tokensIssued        tokens handed out in total (one per DMABUF cmsg)
 * @param tokensReleased      tokens freed by DONTNEED or by closing the socket
 * @param stalls              reads of the wire skipped because the pool had no free buffer
 * @param headerSplitFailures packets whose payload started in the linear area (injected faults that fired)
 * @param skbs                emulated packets built
 * @param dmabufFrags         {@code SCM_DEVMEM_DMABUF} cmsgs delivered
 * @param dmabufBytes         bytes they reported
 * @param linearFrags         {@code SCM_DEVMEM_LINEAR} cmsgs delivered
 * @param linearBytes         bytes they reported (copied to the iov)
 * @param plainBytes          ordinary data returned without devmem cmsgs
 * @param skbsQueued          skbs received and not yet fully read
 */
public record EmulatedEndpointStats(long recvCalls, int tokensOutstanding, long tokensIssued, long tokensReleased,
                                    long stalls, long headerSplitFailures, long skbs, long dmabufFrags,
                                    long dmabufBytes, long linearFrags, long linearBytes, long plainBytes,
                                    int skbsQueued) {
}
