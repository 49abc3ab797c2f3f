package dev.devmem.samples.ingest;

import java.time.Instant;

/**
 * What the service computed for one finished connection.
 *
 * @param id          the service's sequence number for the connection
 * @param remote      the peer, {@code host:port}
 * @param remotePort  the peer's port (the sender's local port)
 * @param started     when the connection was accepted
 * @param finished    when its receive ended
 * @param outcome     how it ended
 * @param bytes       bytes processed, in stream order, without gaps
 * @param frags       frags processed
 * @param dmabufFrags of those, frags in device memory (the devmem path)
 * @param linearFrags frags from the packet's linear area (a failed header split)
 * @param hostFrags   frags of plain TCP data (a flow not steered to a bound queue)
 * @param crc32c      CRC32C of the bytes as 8 hex digits, when every frag was host-readable; {@code null}
 *                    otherwise (device memory the CPU cannot read, e.g. GPU memory: such frags go to the
 *                    device by dmabuf id and offset instead)
 * @param mibPerSecond mean throughput from accept to end
 * @param error       why it failed, for {@link Outcome#FAILED}
 */
public record ConnectionResult(long id, String remote, int remotePort, Instant started, Instant finished,
                               Outcome outcome, long bytes, long frags, long dmabufFrags, long linearFrags,
                               long hostFrags, String crc32c, double mibPerSecond, String error) {

    public enum Outcome {
        /** The peer closed the stream and every byte was processed. */
        COMPLETED,
        /** The receive failed (e.g. ECONNRESET from the peer, a gap in the stream). */
        FAILED,
        /** The service stopped while the connection was open. */
        CANCELLED
    }
}
