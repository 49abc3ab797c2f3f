package dev.devmem.ffm.netlink;

import dev.devmem.api.DevmemProtocolException;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;

import static dev.devmem.ffm.netlink.NetlinkConstants.NLA_HDRLEN;
import static dev.devmem.ffm.netlink.NetlinkConstants.NLA_TYPE_MASK;
import static dev.devmem.ffm.netlink.NetlinkConstants.align;

/**
 * A stream of netlink attributes as the kernel sent it, validated once when parsed: every
 * attribute lies inside the enclosing message, so no accessor can read outside it. A length that
 * breaks that rule is a {@link DevmemProtocolException}, never an out-of-bounds read.
 *
 * <p>Lookups are by type and ignore attributes the caller does not ask for, which is how newer
 * kernels' extra attributes are skipped. When a type repeats, scalar accessors return the first
 * occurrence; {@link #nestedAll} returns every one (multi-attr). Type bits {@code NLA_F_NESTED} and
 * {@code NLA_F_NET_BYTEORDER} are masked off for matching.
 *
 * <p>Values whose length does not fit their type (a u32 that is not 4 bytes) are protocol errors,
 * with the exception of {@link #uint}: the kernel's variable-width {@code uint} is 4 or 8 bytes.
 */
public final class NlAttributes {
    private static final int[] NONE = new int[0];

    private final byte[] buf;
    private final String context;
    private final int[] types;
    private final int[] offsets; // of the nlattr header
    private final int[] lengths; // nla_len, header included

    private NlAttributes(byte[] buf, String context, int[] types, int[] offsets, int[] lengths) {
        this.buf = buf;
        this.context = context;
        this.types = types;
        this.offsets = offsets;
        this.lengths = lengths;
    }

    /**
     * Parses the attributes in {@code buf[offset, offset + length)}. Up to three trailing bytes
     * (alignment padding the kernel may leave) are tolerated.
     *
     * @param context names the attribute set in error messages, e.g. {@code netdev queue}
     */
    public static NlAttributes parse(byte[] buf, int offset, int length, String context)
            throws DevmemProtocolException {
        if (offset < 0 || length < 0 || offset > buf.length - length) {
            throw new DevmemProtocolException(context + ": attribute region [" + offset + ", +" + length
                    + ") lies outside a " + buf.length + "-byte message");
        }
        int end = offset + length;
        int n = 0;
        int[] types = NONE;
        int[] offsets = NONE;
        int[] lengths = NONE;
        int pos = offset;
        while (end - pos >= NLA_HDRLEN) {
            int len = Bytes.u16(buf, pos);
            int type = Bytes.u16(buf, pos + 2);
            if (len < NLA_HDRLEN || len > end - pos) {
                throw new DevmemProtocolException(context + ": attribute type " + (type & NLA_TYPE_MASK)
                        + " at byte " + pos + " claims length " + len + " but " + (end - pos) + " bytes remain");
            }
            if (n == types.length) {
                int cap = Math.max(8, n * 2);
                types = Arrays.copyOf(types, cap);
                offsets = Arrays.copyOf(offsets, cap);
                lengths = Arrays.copyOf(lengths, cap);
            }
            types[n] = type;
            offsets[n] = pos;
            lengths[n] = len;
            n++;
            pos += Math.min(align(len), end - pos);
        }
        return new NlAttributes(buf, context, Arrays.copyOf(types, n), Arrays.copyOf(offsets, n),
                Arrays.copyOf(lengths, n));
    }

    /** How many attributes the stream holds, unknown ones included. */
    public int size() {
        return types.length;
    }

    /** The type of the {@code i}-th attribute, flags masked off. */
    public int typeAt(int i) {
        return types[i] & NLA_TYPE_MASK;
    }

    /** Whether the {@code i}-th attribute carries {@code NLA_F_NESTED}. */
    public boolean nestedFlagAt(int i) {
        return (types[i] & NetlinkConstants.NLA_F_NESTED) != 0;
    }

    /** The payload length of the {@code i}-th attribute. */
    public int payloadLengthAt(int i) {
        return lengths[i] - NLA_HDRLEN;
    }

    public boolean has(int type) {
        return index(type) >= 0;
    }

    public OptionalInt u8(int type) throws DevmemProtocolException {
        int i = index(type);
        return i < 0 ? OptionalInt.empty() : OptionalInt.of(buf[payload(i, 1)] & 0xFF);
    }

    public OptionalInt u16(int type) throws DevmemProtocolException {
        int i = index(type);
        return i < 0 ? OptionalInt.empty() : OptionalInt.of(Bytes.u16(buf, payload(i, 2)));
    }

    /** A u32 (or s32) as its 32 bits; use {@link Integer#toUnsignedLong} where values may exceed 2^31. */
    public OptionalInt u32(int type) throws DevmemProtocolException {
        int i = index(type);
        return i < 0 ? OptionalInt.empty() : OptionalInt.of(Bytes.i32(buf, payload(i, 4)));
    }

    public OptionalLong u64(int type) throws DevmemProtocolException {
        int i = index(type);
        return i < 0 ? OptionalLong.empty() : OptionalLong.of(Bytes.i64(buf, payload(i, 8)));
    }

    /** The kernel's variable-width unsigned {@code uint}: 4 bytes (zero-extended) or 8. */
    public OptionalLong uint(int type) throws DevmemProtocolException {
        int i = index(type);
        if (i < 0) {
            return OptionalLong.empty();
        }
        int len = lengths[i] - NLA_HDRLEN;
        if (len == 4) {
            return OptionalLong.of(Integer.toUnsignedLong(Bytes.i32(buf, offsets[i] + NLA_HDRLEN)));
        }
        if (len == 8) {
            return OptionalLong.of(Bytes.i64(buf, offsets[i] + NLA_HDRLEN));
        }
        throw wrongLength(i, "4 or 8");
    }

    /** The kernel's variable-width signed {@code sint}: 4 bytes (sign-extended) or 8. */
    public OptionalLong sint(int type) throws DevmemProtocolException {
        int i = index(type);
        if (i < 0) {
            return OptionalLong.empty();
        }
        int len = lengths[i] - NLA_HDRLEN;
        if (len == 4) {
            return OptionalLong.of(Bytes.i32(buf, offsets[i] + NLA_HDRLEN));
        }
        if (len == 8) {
            return OptionalLong.of(Bytes.i64(buf, offsets[i] + NLA_HDRLEN));
        }
        throw wrongLength(i, "4 or 8");
    }

    /** A string attribute, trailing NULs removed. */
    public Optional<String> string(int type) {
        int i = index(type);
        if (i < 0) {
            return Optional.empty();
        }
        int start = offsets[i] + NLA_HDRLEN;
        int end = offsets[i] + lengths[i];
        while (end > start && buf[end - 1] == 0) {
            end--;
        }
        return Optional.of(new String(buf, start, end - start, StandardCharsets.UTF_8));
    }

    public Optional<byte[]> binary(int type) {
        int i = index(type);
        if (i < 0) {
            return Optional.empty();
        }
        return Optional.of(Arrays.copyOfRange(buf, offsets[i] + NLA_HDRLEN, offsets[i] + lengths[i]));
    }

    /** The attributes inside the first nest of {@code type}. */
    public Optional<NlAttributes> nested(int type) throws DevmemProtocolException {
        int i = index(type);
        return i < 0 ? Optional.empty() : Optional.of(nestedAt(i));
    }

    /** Every nest of {@code type}, in order: the multi-attr style, e.g. netdev's repeated {@code queues}. */
    public List<NlAttributes> nestedAll(int type) throws DevmemProtocolException {
        List<NlAttributes> out = new ArrayList<>();
        for (int i = 0; i < types.length; i++) {
            if ((types[i] & NLA_TYPE_MASK) == type) {
                out.add(nestedAt(i));
            }
        }
        return out;
    }

    /**
     * The elements of an indexed array: one nest of {@code type} whose children are nests typed
     * 1, 2, ... (the child types are indexes, not meaning). nlctrl's ops and groups use it.
     */
    public List<NlAttributes> nestedArray(int type) throws DevmemProtocolException {
        Optional<NlAttributes> outer = nested(type);
        if (outer.isEmpty()) {
            return List.of();
        }
        NlAttributes array = outer.get();
        List<NlAttributes> out = new ArrayList<>(array.size());
        for (int i = 0; i < array.size(); i++) {
            out.add(array.nestedAt(i));
        }
        return out;
    }

    /** The attributes inside the {@code i}-th attribute. */
    public NlAttributes nestedAt(int i) throws DevmemProtocolException {
        return parse(buf, offsets[i] + NLA_HDRLEN, lengths[i] - NLA_HDRLEN,
                context + "." + (types[i] & NLA_TYPE_MASK));
    }

    /** {@link #u32} for an attribute the kernel always sends; its absence is a protocol error. */
    public int requireU32(int type) throws DevmemProtocolException {
        OptionalInt v = u32(type);
        if (v.isEmpty()) {
            throw missing(type);
        }
        return v.getAsInt();
    }

    public int requireU16(int type) throws DevmemProtocolException {
        OptionalInt v = u16(type);
        if (v.isEmpty()) {
            throw missing(type);
        }
        return v.getAsInt();
    }

    public long requireUint(int type) throws DevmemProtocolException {
        OptionalLong v = uint(type);
        if (v.isEmpty()) {
            throw missing(type);
        }
        return v.getAsLong();
    }

    public String requireString(int type) throws DevmemProtocolException {
        return string(type).orElseThrow(() -> missing(type));
    }

    private int index(int type) {
        for (int i = 0; i < types.length; i++) {
            if ((types[i] & NLA_TYPE_MASK) == type) {
                return i;
            }
        }
        return -1;
    }

    private int payload(int i, int expected) throws DevmemProtocolException {
        if (lengths[i] - NLA_HDRLEN != expected) {
            throw wrongLength(i, Integer.toString(expected));
        }
        return offsets[i] + NLA_HDRLEN;
    }

    private DevmemProtocolException wrongLength(int i, String expected) {
        return new DevmemProtocolException(context + ": attribute type " + (types[i] & NLA_TYPE_MASK) + " has "
                + (lengths[i] - NLA_HDRLEN) + " payload bytes, expected " + expected);
    }

    private DevmemProtocolException missing(int type) {
        return new DevmemProtocolException(context + ": the kernel sent no attribute of type " + type);
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder(context).append('{');
        for (int i = 0; i < types.length; i++) {
            if (i > 0) {
                sb.append(", ");
            }
            sb.append(types[i] & NLA_TYPE_MASK).append(':').append(lengths[i] - NLA_HDRLEN).append('B');
        }
        return sb.append('}').toString();
    }
}
