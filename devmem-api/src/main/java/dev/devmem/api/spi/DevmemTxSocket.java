package dev.devmem.api.spi;

import dev.devmem.api.DevmemException;

import java.net.InetSocketAddress;

/**
 * A connected, non-blocking TCP socket that sends from device memory: {@code SO_ZEROCOPY} is on,
 * every send is {@code sendmsg(MSG_ZEROCOPY)} with an {@code SCM_DEVMEM_DMABUF} cmsg naming the TX
 * binding and iovs that are offsets into its dmabuf, and the kernel's completion notifications
 * ({@code MSG_ERRQUEUE}) say when the memory of a send may be reused.
 *
 * <p><b>Send numbers.</b> The kernel numbers the zerocopy sends of a socket 0, 1, 2, ... (u32,
 * wrapping): one number per sendmsg that took any bytes, none for a failed one. A notification
 * completes an inclusive range of numbers. This socket keeps the ledger: {@link #send} returns how
 * many bytes one send took and remembers it under the caller's tag; {@link #pollCompletions}
 * reports each completed send to a {@link TxCompletionSink}, in send order.
 *
 * <p><b>Reuse.</b> Memory of a send must not be rewritten before the sink has seen it: the device
 * may still read it (a retransmission, too). After {@link #close()} nothing more is reported; the
 * memory of sends still outstanding then may still be read by the device until the kernel drops the
 * connection's queued data.
 *
 * <p>Used by one I/O thread at a time; wait for it with the backend's {@link IoWaiter}, which wakes
 * when the socket can take bytes again (after a send returned 0) or a notification is queued.
 */
public interface DevmemTxSocket extends Pollable, AutoCloseable {

    InetSocketAddress localAddress();

    InetSocketAddress remoteAddress();

    /**
     * Sends bytes {@code [offset, offset + length)} of {@code binding}'s dmabuf without blocking (a
     * {@linkplain TxBinding#fallbackCause() fallback} binding: of its host view, as host memory).
     *
     * @param tag reported with this send's completion
     * @return the bytes the kernel took: all of them, a prefix (the socket buffer filled; send the
     * rest again, which is another send), or 0 when nothing fit now (wait with an {@link IoWaiter})
     * @throws DevmemException the kernel's refusal, explained (e.g. EINVAL for a closed binding,
     *                         ENODEV when the route leaves through another device, EFAULT for an
     *                         offset beyond the dmabuf), or a dead connection
     */
    long send(TxBinding binding, long offset, long length, long tag) throws DevmemException;

    /**
     * Reads every queued completion notification without blocking and reports the sends they
     * complete to {@code sink}, in send order (a send completed out of order waits for the earlier
     * ones). Also reports a connection error the kernel holds (e.g. ECONNRESET) by throwing it.
     *
     * @return the number of sends reported
     * @throws DevmemException a notification that breaks the kernel's contract (a range of numbers
     *                         never sent or already completed, a lost notification), or a socket error
     */
    int pollCompletions(TxCompletionSink sink) throws DevmemException;

    /** Sends not yet reported complete. */
    int outstandingSends();

    /** Bytes of the sends not yet reported complete. */
    long outstandingBytes();

    /** Counters since the socket was opened. Allocates a snapshot; not for the per-send path. */
    TxStats stats();

    /** Stops sending (TCP FIN) once the queued bytes are out. */
    void shutdownOutput() throws DevmemException;

    /** Closes the socket. Idempotent. */
    @Override
    void close();
}
