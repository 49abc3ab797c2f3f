package dev.devmem.ffm.emulated;

/**
 * The counters of one emulated socket, and their sums on its NIC: each event is counted here and
 * added to the NIC's adders in the same step, so the two never disagree. Written by the socket's
 * thread, read by anyone ({@link #snapshot}).
 */
final class EndpointCounters {
    private final EmulatedNic nic;

    private volatile long recvCalls;
    private volatile long stalls;
    private volatile long splitFailures;
    private volatile long skbs;
    /** Skbs built in the current recvmsg, added when it returns (not one volatile write and CAS per skb). */
    private long skbsThisCall;
    private volatile long dmabufFrags;
    private volatile long dmabufBytes;
    private volatile long linearFrags;
    private volatile long linearBytes;
    private volatile long plainBytes;
    private volatile long tokensIssued;
    private volatile long tokensReleased;
    private volatile int tokensHeld;

    EndpointCounters(EmulatedNic nic) {
        this.nic = nic;
    }

    void recvCall() {
        recvCalls++;
    }

    void stall() {
        stalls++;
        nic.stalls.add(1);
    }

    void splitFailure() {
        splitFailures++;
        nic.headerSplitFailures.add(1);
    }

    void skbBuilt() {
        skbsThisCall++;
    }

    /** At the end of every recvmsg: the skbs it built. */
    void endOfCall() {
        if (skbsThisCall > 0) {
            skbs += skbsThisCall;
            nic.skbs.add(skbsThisCall);
            skbsThisCall = 0;
        }
    }

    void plain(long bytes) {
        if (bytes > 0) {
            plainBytes += bytes;
            nic.plainBytes.add(bytes);
        }
    }

    /** What one recvmsg delivered: tokens (one per DMABUF frag), DMABUF, LINEAR and readable bytes. */
    void delivered(long tokens, int held, long dBytes, long lFrags, long lBytes, long pBytes) {
        if (tokens > 0) {
            tokensIssued += tokens;
            tokensHeld = held;
            nic.tokensIssued.add(tokens);
            dmabufFrags += tokens;
            dmabufBytes += dBytes;
            nic.dmabufFrags.add(tokens);
            nic.dmabufBytes.add(dBytes);
        }
        if (lFrags > 0) {
            linearFrags += lFrags;
            linearBytes += lBytes;
            nic.linearFrags.add(lFrags);
            nic.linearBytes.add(lBytes);
        }
        plain(pBytes);
    }

    /** Tokens freed by DONTNEED or by closing the socket; {@code held} are left. */
    void released(int freed, int held) {
        if (freed > 0) {
            tokensReleased += freed;
            nic.tokensReleased.add(freed);
        }
        tokensHeld = held;
    }

    int tokensHeld() {
        return tokensHeld;
    }

    EmulatedEndpointStats snapshot(int skbsQueued) {
        return new EmulatedEndpointStats(recvCalls, tokensHeld, tokensIssued, tokensReleased, stalls,
                splitFailures, skbs, dmabufFrags, dmabufBytes, linearFrags, linearBytes, plainBytes, skbsQueued);
    }
}
