package dev.devmem.reactor;

/**
 * A snapshot of one connection's counters and token ledger.
 *
 * <p>Ledger: {@code fragsReceived == fragsReturned + fragsReclaimed + fragsOutstanding}. Frags are
 * <em>outstanding</em> from the recvmsg that produced them until they are handed back to the socket
 * (released by the application and drained by the I/O loop) or reclaimed when the socket closes.
 * The token budget bounds {@code fragsOutstanding}.
 *
 * @param fragsReceived    frags produced by recvmsg, all kinds
 * @param bytesReceived    their bytes
 * @param fragsReturned    frags handed back to the socket (tokens and host slices go back to the
 *                         kernel and the pool in batched DONTNEED calls)
 * @param fragsReclaimed   frags never released, reclaimed by closing the socket
 * @param fragsOutstanding frags delivered and not yet handed back
 * @param recvCalls        receive calls that returned frags
 * @param dontneedCalls    {@code SO_DEVMEM_DONTNEED} calls the socket made (as of the last flush)
 * @param tokensFreed      tokens the kernel confirmed freed by those calls
 * @param maxOutstanding   the highest {@code fragsOutstanding} seen right after a receive
 * @param closed           whether the socket is closed
 */
public record ConnectionStats(long fragsReceived, long bytesReceived, long fragsReturned, long fragsReclaimed,
                              long fragsOutstanding, long recvCalls, long dontneedCalls, long tokensFreed,
                              long maxOutstanding, boolean closed) {
}
