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
        o.put("result", r.dataError() == null ? "ok" : "data-error");
        if (r.dataError() == null) {
            o.putNull("error");
        } else {
            o.put("error", r.dataError().getMessage());
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
        return c.validator() != null && r.dataError() == null && c.bytesNotValidated() == 0
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

    static ObjectNode sendJson(PatternSender.Result r) {
        ObjectNode o = JSON.createObjectNode();
        o.put("command", "send");
        o.put("result", "ok");
        o.putNull("error");
        putAddress(o, "connect", r.remote());
        putAddress(o, "local", r.local());
        o.put("source", "host");
        o.put("bytes", r.bytes());
        o.put("seconds", round(r.seconds(), 6));
        o.put("bytesPerSecond", Math.round(r.bytesPerSecond()));
        o.put("gbitPerSecond", round(r.bytesPerSecond() * 8 / 1e9, 3));
        ObjectNode p = o.putObject("pattern");
        p.put("period", r.period());
        p.put("terminator", r.terminator());
        return o;
    }

    static void printSend(PrintWriter out, PatternSender.Result r) {
        out.printf(Locale.ROOT, "send: %s (%d bytes) to %s in %.3f s: %s, pattern 1..%d then 0x%02x, from host memory%n",
                Sizes.human(r.bytes()), r.bytes(), HostPort.format(r.remote()), r.seconds(),
                Sizes.bitRate(r.bytesPerSecond()), r.period() - 1, r.terminator());
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
