package dev.devmem.reactor.rx;

import dev.devmem.api.FragKind;
import dev.devmem.api.spi.DevmemSocket;
import dev.devmem.api.spi.ReceiveBatch;
import dev.devmem.api.spi.SocketStats;
import dev.devmem.reactor.ConnectionStats;

import java.util.Arrays;

/**
 * One connection's frag ledger: received = returned + reclaimed + outstanding, kept by the loop
 * thread and published for {@code DevmemConnection.stats()} from other threads and for the meters.
 * Counters are updated once per recvmsg or per loop pass, never per frag.
 */
final class RxLedger {
    private static final int KINDS = FragKind.values().length;

    private final Metrics metrics;
    private final int[] kindFrags = new int[KINDS];
    private final long[] kindBytes = new long[KINDS];

    // --- loop thread only ---
    private long received;
    private long bytes;
    private long returned;
    private long reclaimed;
    private long recvCalls;
    private long maxOutstanding;
    /** Change of the outstanding gauge not yet published. */
    private long gaugeDelta;

    // --- published by the loop, read elsewhere ---
    private volatile long pubReceived;
    private volatile long pubBytes;
    private volatile long pubReturned;
    private volatile long pubReclaimed;
    private volatile long pubRecvCalls;
    private volatile long pubMaxOutstanding;
    private volatile long dontneedCalls;
    private volatile long tokensFreed;

    RxLedger(Metrics metrics) {
        this.metrics = metrics;
    }

    long outstanding() {
        return received - returned - reclaimed;
    }

    long returned() {
        return returned;
    }

    /** One recvmsg's worth: {@code n} frags of {@code batch}. */
    void received(ReceiveBatch batch, int n) {
        received += n;
        bytes += batch.bytes();
        recvCalls++;
        gaugeDelta += n;
        long out = outstanding();
        if (out > maxOutstanding) {
            maxOutstanding = out;
        }
        if (metrics.enabled()) {
            Arrays.fill(kindFrags, 0);
            Arrays.fill(kindBytes, 0);
            for (int i = 0; i < n; i++) {
                int k = batch.kindOrdinal(i);
                kindFrags[k]++;
                kindBytes[k] += batch.length(i);
            }
            metrics.received(n, kindFrags, kindBytes);
        }
    }

    /** One frag went back to the socket. */
    void returnedOne() {
        returned++;
        gaugeDelta--;
    }

    /** At close: whatever is still outstanding the kernel takes back with the socket. Returns how many. */
    long reclaimRest() {
        long left = outstanding();
        reclaimed += left;
        gaugeDelta -= left;
        metrics.reclaimed(left);
        return left;
    }

    /** Takes the socket's DONTNEED counters into the meters. */
    void syncSocketStats(DevmemSocket socket) {
        SocketStats s;
        try {
            s = socket.stats();
        } catch (RuntimeException e) {
            return;
        }
        long calls = s.dontneedCalls() - dontneedCalls;
        long tokens = s.tokensReturned() - tokensFreed;
        if (calls > 0) {
            metrics.dontneed(calls, tokens);
        }
        dontneedCalls = s.dontneedCalls();
        tokensFreed = s.tokensReturned();
    }

    /** Loop thread, once per pass: meters and the values other threads read. */
    void publish() {
        metrics.returned(returned - pubReturned);
        metrics.outstandingDelta(gaugeDelta);
        gaugeDelta = 0;
        pubReceived = received;
        pubBytes = bytes;
        pubReturned = returned;
        pubReclaimed = reclaimed;
        pubRecvCalls = recvCalls;
        pubMaxOutstanding = maxOutstanding;
    }

    /** Exact on the loop thread, as last published elsewhere. */
    ConnectionStats stats(boolean onLoop, boolean closed) {
        if (onLoop) {
            return new ConnectionStats(received, bytes, returned, reclaimed, outstanding(), recvCalls, dontneedCalls,
                    tokensFreed, maxOutstanding, closed);
        }
        long rec = pubReceived;
        long ret = pubReturned;
        long recl = pubReclaimed;
        return new ConnectionStats(rec, pubBytes, ret, recl, rec - ret - recl, pubRecvCalls, dontneedCalls,
                tokensFreed, pubMaxOutstanding, closed);
    }
}
