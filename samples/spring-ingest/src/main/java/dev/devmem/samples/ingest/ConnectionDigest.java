package dev.devmem.samples.ingest;

import dev.devmem.api.DevmemFrag;
import dev.devmem.reactor.DevmemConnection;

import java.net.InetSocketAddress;
import java.time.Instant;
import java.util.zip.CRC32C;

/**
 * The running state of one connection: byte and frag counts and a CRC32C over the stream.
 *
 * <p>{@link #accept} runs on the connection's processing worker only (publishOn gives each
 * subscription one worker and serialises its signals), so the checksum needs no lock; the counters
 * are volatile with that single writer so the endpoint can read them live from any thread.
 */
final class ConnectionDigest {
    private final long id;
    private final DevmemConnection connection;
    private final InetSocketAddress remote;
    private final Instant started = Instant.now();
    private final CRC32C crc = new CRC32C();
    private boolean checksummed = true;
    private volatile long bytes;
    private volatile long frags;
    private volatile long dmabufFrags;
    private volatile long linearFrags;
    private volatile long hostFrags;

    ConnectionDigest(long id, DevmemConnection connection) {
        this.id = id;
        this.connection = connection;
        this.remote = connection.remoteAddress();
    }

    long id() {
        return id;
    }

    DevmemConnection connection() {
        return connection;
    }

    InetSocketAddress remote() {
        return remote;
    }

    Instant started() {
        return started;
    }

    long bytes() {
        return bytes;
    }

    long frags() {
        return frags;
    }

    /**
     * Folds one frag into the digest and releases it, whatever happens: its token goes back to the
     * NIC as soon as the bytes are read. A frag out of stream order is an error (nothing may be lost
     * or reordered between the I/O thread and here).
     */
    void accept(DevmemFrag frag) {
        try {
            long expected = bytes;
            if (frag.streamPosition() != expected) {
                throw new IllegalStateException("frag at stream offset " + frag.streamPosition() + ", expected "
                        + expected + ": bytes lost or reordered");
            }
            if (checksummed && frag.isHostReadable()) {
                // A read-only view of the dmabuf (or host slab) bytes, valid until release().
                crc.update(frag.segment().asByteBuffer());
            } else {
                checksummed = false;
            }
            switch (frag.kind()) {
                case DMABUF -> dmabufFrags++;
                case LINEAR -> linearFrags++;
                case HOST -> hostFrags++;
            }
            frags++;
            bytes = expected + frag.length();
        } finally {
            frag.release();
        }
    }

    /** The result; call after the receive ended (its terminal signal orders it after every {@link #accept}). */
    ConnectionResult result(ConnectionResult.Outcome outcome, Throwable error) {
        Instant finished = Instant.now();
        long b = bytes;
        long nanos = java.time.Duration.between(started, finished).toNanos();
        double mibs = nanos <= 0 ? 0 : b / (1024.0 * 1024.0) / (nanos / 1e9);
        return new ConnectionResult(id, remote.getHostString() + ":" + remote.getPort(), remote.getPort(), started,
                finished, outcome, b, frags, dmabufFrags, linearFrags, hostFrags,
                outcome == ConnectionResult.Outcome.COMPLETED && checksummed ? String.format("%08x", crc.getValue())
                        : null,
                mibs, error == null ? null : String.valueOf(error));
    }
}
