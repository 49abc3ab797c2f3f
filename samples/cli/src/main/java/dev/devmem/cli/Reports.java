package dev.devmem.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.devmem.api.FragKind;
import dev.devmem.reactor.ConnectionStats;
import dev.devmem.reactor.DevmemMeters;

import java.io.PrintWriter;
import java.util.Locale;

/**
 * The summaries at the end of {@code recv}, {@code send} and {@code demo}: as text for people and as
 * JSON ({@code --json}; the schema is in docs/cli.md, keep both in step).
 */
final class Reports {
    private Reports() {
    }

    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    static String json(ObjectNode node) {
        try {
            return JSON.writeValueAsString(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    // ------------------------------------------------------------------ receive (recv, demo)

    static ObjectNode receiveJson(String command, ReceiveSession.Result r) {
        ObjectNode o = JSON.createObjectNode();
        o.put("command", command);
        o.put("result", r.dataError() != null ? "data-error" : r.connectionError() != null ? "connection-error"
                : r.interrupted() ? "interrupted" : "ok");
        if (r.failure() == null) {
            o.putNull("error");
        } else {
            o.put("error", ErrorReporter.oneLine(r.failure()));
        }
        o.put("backend", r.backend());
        putAddress(o, "listen", r.listen());
        putAddress(o, "peer", r.peer());
        if (r.binding() == null) {
            o.putNull("binding");
        } else {
            ObjectNode b = o.putObject("binding");
            b.put("interface", r.binding().interfaceName());
            ArrayNode q = b.putArray("queues");
            r.binding().rxQueues().forEach(q::add);
            b.put("dmabuf", dmabufName(r.binding().dmabuf()));
            b.put("dmabufBytes", r.binding().dmabuf().size());
            b.put("id", r.bindingId());
        }
        StreamChecker c = r.checker();
        ConnectionStats s = r.stats();
        MeterReadings m = r.meters();
        o.put("bytes", r.bytes());
        if (c.limit() == StreamChecker.UNLIMITED) {
            o.putNull("limit");
        } else {
            o.put("limit", c.limit());
        }
        o.put("bytesReceived", s == null ? 0 : s.bytesReceived());
        o.put("seconds", round(r.seconds(), 6));
        o.put("bytesPerSecond", Math.round(r.bytesPerSecond()));
        o.put("gbitPerSecond", round(r.bytesPerSecond() * 8 / 1e9, 3));
        ObjectNode frags = o.putObject("frags");
        ObjectNode fragBytes = o.putObject("fragBytes");
        long total = 0;
        for (FragKind k : FragKind.values()) {
            String name = k.name().toLowerCase(Locale.ROOT);
            frags.put(name, m.frags(k));
            fragBytes.put(name, m.bytes(k));
            total += m.frags(k);
        }
        frags.put("total", total);
        o.put("recvCalls", s == null ? 0 : s.recvCalls());
        ObjectNode dn = o.putObject("dontneed");
        dn.put("calls", m.dontneedCalls());
        dn.put("callsPerGiB", round(perGib(m.dontneedCalls(), s == null ? 0 : s.bytesReceived()), 2));
        dn.put("tokensFreed", s == null ? 0 : s.tokensFreed());
        ObjectNode t = o.putObject("tokens");
        t.put("outstanding", s == null ? 0 : s.fragsOutstanding());
        t.put("outstandingGauge", m.tokensOutstanding());
        t.put("maxOutstanding", s == null ? 0 : s.maxOutstanding());
        t.put("returned", m.returned());
        t.put("reclaimed", m.reclaimed());
        ObjectNode st = o.putObject("stalls");
        for (DevmemMeters.StallReason reason : DevmemMeters.StallReason.values()) {
            st.put(reason.tagValue(), m.stalls(reason));
        }
        ObjectNode v = o.putObject("validation");
        PatternValidator pv = c.validator();
        v.put("enabled", pv != null);
        if (pv == null) {
            v.putNull("period");
            v.putNull("terminator");
        } else {
            v.put("period", pv.period());
            if (pv.terminator() == PatternValidator.AUTO) {
                v.putNull("terminator");
            } else {
                v.put("terminator", pv.terminator());
            }
        }
        v.put("bytesValidated", c.bytesValidated());
        v.put("bytesNotValidated", c.bytesNotValidated());
        v.put("fragsNotValidated", c.fragsNotValidated());
        v.put("everyByte", everyByteValidated(r));
        return o;
    }

    static boolean everyByteValidated(ReceiveSession.Result r) {
        StreamChecker c = r.checker();
        return c.validator() != null && r.failure() == null && c.bytesNotValidated() == 0
                && c.bytesValidated() == c.bytes();
    }

    static void printReceive(PrintWriter out, String command, ReceiveSession.Result r) {
        StreamChecker c = r.checker();
        ConnectionStats s = r.stats();
        MeterReadings m = r.meters();
        out.printf(Locale.ROOT, "%s: %s (%d bytes) from %s in %.3f s: %s%n", command, Sizes.human(r.bytes()), r.bytes(),
                r.peer() == null ? "-" : HostPort.format(r.peer()), r.seconds(), Sizes.bitRate(r.bytesPerSecond()));
        out.printf(Locale.ROOT, "  frags       dmabuf %d (%s), linear %d (%s), host %d (%s)%n",
                m.frags(FragKind.DMABUF), Sizes.human(m.bytes(FragKind.DMABUF)),
                m.frags(FragKind.LINEAR), Sizes.human(m.bytes(FragKind.LINEAR)),
                m.frags(FragKind.HOST), Sizes.human(m.bytes(FragKind.HOST)));
        if (s != null) {
            out.printf(Locale.ROOT, "  recvmsg     %d calls%n", s.recvCalls());
            out.printf(Locale.ROOT, "  DONTNEED    %d calls (%.1f per GiB), %d tokens freed%n", m.dontneedCalls(),
                    perGib(m.dontneedCalls(), s.bytesReceived()), s.tokensFreed());
            out.printf(Locale.ROOT, "  tokens      outstanding %d (max %d), returned %d, reclaimed %d%n",
                    s.fragsOutstanding(), s.maxOutstanding(), m.returned(), m.reclaimed());
        }
        out.printf(Locale.ROOT, "  stalls      demand %d, tokens %d, buffers %d%n",
                m.stalls(DevmemMeters.StallReason.DEMAND), m.stalls(DevmemMeters.StallReason.TOKENS),
                m.stalls(DevmemMeters.StallReason.BUFFERS));
        out.printf("  validation  %s%n", validationLine(r));
        if (r.connectionError() != null) {
            out.printf("  connection  FAILED after %d bytes: %s%n", r.bytes(), ErrorReporter.oneLine(r.connectionError()));
        } else if (r.interrupted()) {
            out.printf("  stopped     by a signal after %d bytes: the connection was cancelled and closed%n", r.bytes());
        }
        out.flush();
    }

    static String validationLine(ReceiveSession.Result r) {
        StreamChecker c = r.checker();
        PatternValidator pv = c.validator();
        if (pv == null) {
            return "off (stream continuity only; --validate N checks every byte)";
        }
        if (r.dataError() != null) {
            return "FAILED: " + r.dataError().getMessage();
        }
        String pattern = pv.describe();
        if (c.bytesNotValidated() > 0) {
            return String.format(Locale.ROOT, "%d bytes right (%s); %d bytes in %d frags NOT validated: device memory "
                            + "the CPU cannot read", c.bytesValidated(), pattern, c.bytesNotValidated(),
                    c.fragsNotValidated());
        }
        return "every byte right: " + c.bytesValidated() + " bytes, " + pattern;
    }

    // ------------------------------------------------------------------ send

    /**
     * The send summary; {@code tx} is null for plain TCP. Every TX number is the sender's own: its
     * {@code devmem.tx.*} meters, its socket's {@code TxStats}, its buffer, its completions.
     */
    static ObjectNode sendJson(PatternSender.Result r, TxPatternSender.Tx tx) {
        ObjectNode o = JSON.createObjectNode();
        o.put("command", "send");
        o.put("result", "ok");
        o.putNull("error");
        putAddress(o, "connect", r.remote());
        putAddress(o, "local", r.local());
        o.put("mode", tx == null ? "plain" : tx.mode());
        o.put("devmemTx", tx != null && !tx.copyFallback());
        o.put("copyFallback", tx != null && tx.copyFallback());
        if (tx == null || tx.fallbackCause() == null) {
            o.putNull("fallbackCause");
        } else {
            o.put("fallbackCause", tx.fallbackCause());
        }
        o.put("source", tx == null ? "host" : tx.dmabuf());
        o.put("bytes", r.bytes());
        o.put("seconds", round(r.seconds(), 6));
        o.put("bytesPerSecond", Math.round(r.bytesPerSecond()));
        o.put("gbitPerSecond", round(r.bytesPerSecond() * 8 / 1e9, 3));
        ObjectNode p = o.putObject("pattern");
        p.put("period", r.period());
        p.put("terminator", r.terminator());
        if (tx == null) {
            o.putNull("tx");
            return o;
        }
        ObjectNode t = o.putObject("tx");
        t.put("backend", tx.backend());
        t.put("interface", tx.interfaceName());
        t.put("dmabuf", tx.dmabuf());
        t.put("dmabufBytes", tx.dmabufBytes());
        t.put("bindingId", Integer.toUnsignedLong(tx.bindingId()));
        t.put("sliceBytes", tx.sliceBytes());
        t.put("slices", tx.slices());
        t.put("copiedSlices", tx.copiedSlices());
        t.put("sends", tx.sends());
        t.put("partialSends", tx.partialSends());
        t.put("wouldBlock", tx.wouldBlock());
        t.put("completions", tx.completions());
        t.put("completedBytes", tx.completedBytes());
        t.put("copiedCompletions", tx.copiedCompletions());
        t.put("notifications", tx.notifications());
        ObjectNode f = t.putObject("inFlight");
        if (tx.maxInFlightBytes() == null) {
            f.putNull("maxBytes");
        } else {
            f.put("maxBytes", tx.maxInFlightBytes());
        }
        f.put("capBytes", tx.maxInFlightCap());
        f.put("atEndBytes", tx.outstandingBytes());
        ObjectNode st = t.putObject("stalls");
        st.put("inflight", tx.stallsInflight());
        st.put("socket", tx.stallsSocket());
        ObjectNode l = t.putObject("leases");
        l.put("granted", tx.leases());
        l.put("waited", tx.leaseWaits());
        return o;
    }

    static void printSend(PrintWriter out, PatternSender.Result r, TxPatternSender.Tx tx) {
        String from = tx == null ? "from host memory (plain TCP)"
                : tx.copyFallback() ? "COPY FALLBACK from the " + tx.dmabuf() + " dmabuf as host memory, not devmem TX"
                : "devmem TX from a " + Sizes.human(tx.dmabufBytes()) + " " + tx.dmabuf() + " dmabuf (TX binding "
                + Integer.toUnsignedString(tx.bindingId()) + " on " + tx.interfaceName() + ", " + tx.backend() + ")";
        out.printf(Locale.ROOT, "send: %s (%d bytes) to %s in %.3f s: %s, pattern 1..%d then 0x%02x, %s%n",
                Sizes.human(r.bytes()), r.bytes(), HostPort.format(r.remote()), r.seconds(),
                Sizes.bitRate(r.bytesPerSecond()), r.period() - 1, r.terminator(), from);
        if (tx != null) {
            if (tx.copyFallback()) {
                out.printf("  COPY FALLBACK  %s cannot do devmem TX (%s); --copy-fallback sent the dmabuf's host view "
                        + "as ordinary host memory (MSG_ZEROCOPY without the devmem cmsg)%n", tx.interfaceName(),
                        tx.fallbackCause());
            }
            out.printf(Locale.ROOT, "  slices       %d of %s completed (%d copied), %d leases waited for room%n",
                    tx.slices(), Sizes.human(tx.sliceBytes()), tx.copiedSlices(), tx.leaseWaits());
            out.printf(Locale.ROOT, "  sends        %d (%d partial, %d would block)%n", tx.sends(), tx.partialSends(),
                    tx.wouldBlock());
            out.printf(Locale.ROOT, "  completions  %d sends (%d bytes), %d copied, in %d notifications%n",
                    tx.completions(), tx.completedBytes(), tx.copiedCompletions(), tx.notifications());
            out.printf(Locale.ROOT, "  in flight    max %s of the %s cap, %s at the end; stalls: cap %d, socket %d%n",
                    tx.maxInFlightBytes() == null ? "?" : Sizes.human(tx.maxInFlightBytes()),
                    Sizes.human(tx.maxInFlightCap()), Sizes.human(tx.outstandingBytes()), tx.stallsInflight(),
                    tx.stallsSocket());
        }
        out.flush();
    }

    // ------------------------------------------------------------------ helpers

    static String dmabufName(dev.devmem.api.DmabufSource d) {
        return switch (d) {
            case dev.devmem.api.DmabufSource.Udmabuf u -> "udmabuf";
            case dev.devmem.api.DmabufSource.DmaHeap h -> "dma-heap:" + h.heap();
            case dev.devmem.api.DmabufSource.Cuda c -> "cuda:" + c.device();
            case dev.devmem.api.DmabufSource.Fd f -> "fd:" + f.fd();
            case dev.devmem.api.DmabufSource.Emulated e -> "emulated";
        };
    }

    private static void putAddress(ObjectNode o, String field, java.net.InetSocketAddress a) {
        if (a == null) {
            o.putNull(field);
        } else {
            o.put(field, HostPort.format(a));
        }
    }

    static double perGib(long count, long bytes) {
        return bytes == 0 ? 0 : count / ((double) bytes / Sizes.GIB);
    }

    private static double round(double v, int digits) {
        double f = Math.pow(10, digits);
        return Math.round(v * f) / f;
    }
}
