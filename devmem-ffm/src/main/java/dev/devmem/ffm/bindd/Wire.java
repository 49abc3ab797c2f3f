package dev.devmem.ffm.bindd;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The bindd wire protocol, version 1: length-prefixed binary frames over an AF_UNIX stream socket,
 * big-endian.
 *
 * <pre>
 * frame    = u32 length (1..{@value #MAX_FRAME}) , body[length]
 * body     = u8 version ({@value #VERSION}) , u8 type , payload
 * string   = u16 byteLength (0xFFFF = absent, else <= {@value #MAX_STRING}) , UTF-8 bytes
 *
 * BIND_RX  (1)  string ifname , u8 dmabufKind , u64 size , string heap , u16 n (1..{@value #MAX_QUEUES}) , u32 queue[n]
 * BIND_TX  (2)  string ifname , u8 dmabufKind , u64 size , string heap
 * STATS    (3)  (nothing)
 * NIC_SETUP (4), NIC_UNDO (5): see {@link NicWire}
 * BOUND    (0x81) u32 id , u32 ifindex , string ifname , u64 size , u8 fdAttached
 * ERROR    (0x82) see {@link ErrorCodec}
 * STATS_OK (0x83) u32 connections , u32 bindings , u32 nicSetups , u64 binds , u64 refused , u64 denied ,
 *                 u64 malformed
 * NIC_SET (0x84), NIC_UNDONE (0x85): see {@link NicWire}
 * </pre>
 *
 * A dmabuf kind {@link #DMABUF_PASSED} travels as one descriptor in an {@code SCM_RIGHTS} control
 * message on the request frame; the other kinds ask the daemon to allocate, and the BOUND reply then
 * carries the dmabuf's descriptor the same way. Any other descriptor is a protocol error. Every
 * field is checked, and a body must be consumed exactly.
 */
final class Wire {
    private Wire() {
    }

    static final int VERSION = 1;
    static final int MAX_FRAME = 4096;
    static final int MAX_STRING = 1024;
    static final int MAX_QUEUES = 256;
    /** IFNAMSIZ - 1. */
    static final int MAX_IFNAME = 15;
    /** No dmabuf larger than 1 TiB is accepted. */
    static final long MAX_DMABUF = 1L << 40;

    static final int BIND_RX = 1;
    static final int BIND_TX = 2;
    static final int STATS = 3;
    static final int NIC_SETUP = 4;
    static final int NIC_UNDO = 5;
    static final int BOUND = 0x81;
    static final int ERROR = 0x82;
    static final int STATS_OK = 0x83;
    static final int NIC_SET = 0x84;
    static final int NIC_UNDONE = 0x85;

    /** The client passes its own dmabuf (SCM_RIGHTS). */
    static final int DMABUF_PASSED = 1;
    static final int DMABUF_UDMABUF = 2;
    static final int DMABUF_DMA_HEAP = 3;
    static final int DMABUF_EMULATED = 4;

    /** A bind request as decoded; {@code queues} is empty for TX, {@code heap} null unless a DMA heap. */
    record BindRequest(boolean tx, String ifname, int dmabufKind, long size, String heap, List<Integer> queues) {
        boolean passesFd() {
            return dmabufKind == DMABUF_PASSED;
        }
    }

    record Bound(int id, int ifindex, String ifname, long size, boolean fdAttached) {
    }

    record Stats(int connections, int bindings, int nicSetups, long binds, long refused, long denied,
                 long malformed) {
    }

    // ------------------------------------------------------------------------------ encoding

    static byte[] bindRx(String ifname, int kind, long size, String heap, List<Integer> queues) {
        Out o = new Out(BIND_RX).string(ifname).u8(kind).u64(size).string(heap).u16(queues.size());
        for (int q : queues) {
            o.u32(q);
        }
        return o.frame();
    }

    static byte[] bindTx(String ifname, int kind, long size, String heap) {
        return new Out(BIND_TX).string(ifname).u8(kind).u64(size).string(heap).frame();
    }

    static byte[] stats() {
        return new Out(STATS).frame();
    }

    static byte[] bound(Bound b) {
        return new Out(BOUND).u32(b.id()).u32(b.ifindex()).string(b.ifname()).u64(b.size())
                .u8(b.fdAttached() ? 1 : 0).frame();
    }

    static byte[] stats(Stats s) {
        return new Out(STATS_OK).u32(s.connections()).u32(s.bindings()).u32(s.nicSetups()).u64(s.binds())
                .u64(s.refused())
                .u64(s.denied()).u64(s.malformed()).frame();
    }

    // ------------------------------------------------------------------------------ decoding

    /** The frame length announced by a 4-byte prefix, checked against the limits. */
    static int frameLength(int prefix) throws WireException {
        if (prefix <= 0 || prefix > MAX_FRAME) {
            throw new WireException("frame length " + Integer.toUnsignedString(prefix) + " is outside 1.."
                    + MAX_FRAME);
        }
        return prefix;
    }

    /** The body's type, after checking its version. */
    static int type(byte[] body) throws WireException {
        if (body.length < 2) {
            throw new WireException("a frame body of " + body.length + " bytes has no version and type");
        }
        int version = body[0] & 0xFF;
        if (version != VERSION) {
            throw new WireException("protocol version " + version + " is not spoken here (this side speaks "
                    + VERSION + ")");
        }
        return body[1] & 0xFF;
    }

    static BindRequest bindRequest(byte[] body) throws WireException {
        int type = type(body);
        if (type != BIND_RX && type != BIND_TX) {
            throw new WireException("not a bind request: type " + type);
        }
        In in = new In(body);
        String ifname = ifname(in);
        int kind = in.u8("dmabufKind");
        if (kind < DMABUF_PASSED || kind > DMABUF_EMULATED) {
            throw new WireException("unknown dmabuf kind " + kind);
        }
        long size = in.u64("size");
        if (size <= 0 || size > MAX_DMABUF) {
            throw new WireException("dmabuf size " + Long.toUnsignedString(size) + " is outside 1.." + MAX_DMABUF);
        }
        String heap = in.string("heap");
        if ((kind == DMABUF_DMA_HEAP) != (heap != null)) {
            throw new WireException("a heap name goes with dmabuf kind DMA_HEAP and only with it");
        }
        if (heap != null && (heap.isEmpty() || heap.contains("/") || heap.equals("..") || heap.indexOf('\0') >= 0)) {
            throw new WireException("heap name must be a plain file name");
        }
        List<Integer> queues = type == BIND_RX ? queues(in) : List.of();
        in.end();
        return new BindRequest(type == BIND_TX, ifname, kind, size, heap, queues);
    }

    static String ifname(In in) throws WireException {
        String ifname = in.string("ifname");
        if (ifname == null || ifname.isEmpty() || ifname.getBytes(StandardCharsets.UTF_8).length > MAX_IFNAME
                || ifname.indexOf('\0') >= 0 || ifname.indexOf('/') >= 0) {
            throw new WireException("ifname must be 1.." + MAX_IFNAME + " bytes without NUL or '/'");
        }
        return ifname;
    }

    static List<Integer> queues(In in) throws WireException {
        int n = in.u16("queue count");
        if (n < 1 || n > MAX_QUEUES) {
            throw new WireException("queue count " + n + " is outside 1.." + MAX_QUEUES);
        }
        List<Integer> qs = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            long q = in.u32("queue");
            if (q > Integer.MAX_VALUE) {
                throw new WireException("queue id " + q + " is out of range");
            }
            if (qs.contains((int) q)) {
                throw new WireException("queue " + q + " repeats");
            }
            qs.add((int) q);
        }
        return List.copyOf(qs);
    }

    static Bound bound(byte[] body) throws WireException {
        expect(body, BOUND);
        In in = new In(body);
        long id = in.u32("id");
        long ifindex = in.u32("ifindex");
        String ifname = in.string("ifname");
        long size = in.u64("size");
        int fd = in.u8("fdAttached");
        in.end();
        if (ifname == null || fd > 1 || size <= 0) {
            throw new WireException("malformed BOUND reply");
        }
        return new Bound((int) id, (int) ifindex, ifname, size, fd == 1);
    }

    static Stats statsReply(byte[] body) throws WireException {
        expect(body, STATS_OK);
        In in = new In(body);
        Stats s = new Stats((int) in.u32("connections"), (int) in.u32("bindings"), (int) in.u32("nicSetups"),
                in.u64("binds"),
                in.u64("refused"), in.u64("denied"), in.u64("malformed"));
        in.end();
        return s;
    }

    static void expectEmpty(byte[] body, int type) throws WireException {
        expect(body, type);
        new In(body).end();
    }

    static void expect(byte[] body, int type) throws WireException {
        int t = type(body);
        if (t != type) {
            throw new WireException("expected message type " + type + ", got " + t);
        }
    }

    /** Writes one frame: the length prefix is patched in by {@link #frame()}. */
    static final class Out {
        private final ByteBuffer b = ByteBuffer.allocate(MAX_FRAME + 4);

        Out(int type) {
            b.putInt(0).put((byte) VERSION).put((byte) type);
        }

        Out u8(int v) {
            b.put((byte) v);
            return this;
        }

        Out u16(int v) {
            b.putShort((short) v);
            return this;
        }

        Out u32(int v) {
            b.putInt(v);
            return this;
        }

        Out i32(int v) {
            b.putInt(v);
            return this;
        }

        Out u64(long v) {
            b.putLong(v);
            return this;
        }

        /** Writes {@code s}, cut to {@link #MAX_STRING} bytes on a character boundary. */
        Out string(String s) {
            if (s == null) {
                b.putShort((short) 0xFFFF);
                return this;
            }
            byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
            int n = bytes.length;
            if (n > MAX_STRING) {
                n = MAX_STRING;
                while (n > 0 && (bytes[n] & 0xC0) == 0x80) {
                    n--; // do not split a multi-byte character
                }
            }
            b.putShort((short) n).put(bytes, 0, n);
            return this;
        }

        byte[] frame() {
            int len = b.position() - 4;
            if (len > MAX_FRAME) {
                throw new IllegalStateException("frame of " + len + " bytes exceeds " + MAX_FRAME);
            }
            b.putInt(0, len);
            byte[] out = new byte[b.position()];
            b.get(0, out);
            return out;
        }
    }

    /** Reads a body after its version and type; every read is bounds-checked. */
    static final class In {
        private final ByteBuffer b;

        In(byte[] body) {
            b = ByteBuffer.wrap(body);
            b.position(2);
        }

        int u8(String field) throws WireException {
            try {
                return b.get() & 0xFF;
            } catch (BufferUnderflowException e) {
                throw truncated(field);
            }
        }

        int u16(String field) throws WireException {
            try {
                return b.getShort() & 0xFFFF;
            } catch (BufferUnderflowException e) {
                throw truncated(field);
            }
        }

        long u32(String field) throws WireException {
            try {
                return b.getInt() & 0xFFFF_FFFFL;
            } catch (BufferUnderflowException e) {
                throw truncated(field);
            }
        }

        int i32(String field) throws WireException {
            try {
                return b.getInt();
            } catch (BufferUnderflowException e) {
                throw truncated(field);
            }
        }

        long u64(String field) throws WireException {
            try {
                return b.getLong();
            } catch (BufferUnderflowException e) {
                throw truncated(field);
            }
        }

        String string(String field) throws WireException {
            int n = u16(field);
            if (n == 0xFFFF) {
                return null;
            }
            if (n > MAX_STRING) {
                throw new WireException(field + ": string of " + n + " bytes exceeds " + MAX_STRING);
            }
            if (b.remaining() < n) {
                throw truncated(field);
            }
            ByteBuffer slice = b.slice(b.position(), n);
            b.position(b.position() + n);
            try {
                CharBuffer chars = StandardCharsets.UTF_8.newDecoder()
                        .onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT)
                        .decode(slice);
                return chars.toString();
            } catch (CharacterCodingException e) {
                throw new WireException(field + ": not UTF-8");
            }
        }

        void end() throws WireException {
            if (b.hasRemaining()) {
                throw new WireException(b.remaining() + " bytes left over after the message");
            }
        }

        private static WireException truncated(String field) {
            return new WireException("message ends inside " + field);
        }
    }
}
