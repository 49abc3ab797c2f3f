package dev.devmem.ffm.netlink;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

import static dev.devmem.ffm.netlink.NetlinkConstants.GENL_HDRLEN;
import static dev.devmem.ffm.netlink.NetlinkConstants.NLA_F_NESTED;
import static dev.devmem.ffm.netlink.NetlinkConstants.NLA_HDRLEN;
import static dev.devmem.ffm.netlink.NetlinkConstants.NLMSG_HDRLEN;
import static dev.devmem.ffm.netlink.NetlinkConstants.align;

/**
 * Writes one generic-netlink request: {@code nlmsghdr}, {@code genlmsghdr}, then attributes in host
 * byte order, each padded to 4 bytes, nests flagged {@code NLA_F_NESTED}. It remembers where each
 * attribute went and its dotted name from the {@link AttributeSet}s ({@code dmabuf.ifindex},
 * {@code dmabuf.queues[1].type}), so that the kernel's extended ACK, which points by byte offset,
 * can be reported by name.
 *
 * <p>Flags and sequence number are left for {@link NetlinkSocket} to fill in when it sends; the
 * resulting {@link GenlRequest} is immutable and may be sent many times. Single use, one thread.
 */
public final class GenlMessageWriter {
    private final String operation;
    private final int familyId;
    private final int cmd;
    private final AttributeSet root;
    private byte[] buf = new byte[128];
    private int pos;
    private final Deque<Frame> open = new ArrayDeque<>();
    private final List<GenlRequest.Written> written = new ArrayList<>();
    private boolean built;

    private record Frame(int headerOffset, int writtenIndex, AttributeSet set, String path,
                         Map<Integer, Integer> elementCounts) {
    }

    /**
     * @param operation what errors will call this request, e.g. {@code netdev bind-rx}
     * @param familyId  the family's id, as resolved through nlctrl
     * @param version   the family version to put in {@code genlmsghdr}
     * @param root      names of the top-level attributes
     */
    public GenlMessageWriter(String operation, int familyId, int cmd, int version, AttributeSet root) {
        this.operation = Objects.requireNonNull(operation, "operation");
        this.root = Objects.requireNonNull(root, "root");
        if (familyId < 0 || familyId > 0xFFFF || cmd < 0 || cmd > 0xFF || version < 0 || version > 0xFF) {
            throw new IllegalArgumentException("family " + familyId + ", cmd " + cmd + ", version " + version);
        }
        this.familyId = familyId;
        this.cmd = cmd;
        pos = NLMSG_HDRLEN + GENL_HDRLEN;
        Bytes.putU16(buf, 4, familyId);
        buf[NLMSG_HDRLEN] = (byte) cmd;
        buf[NLMSG_HDRLEN + 1] = (byte) version;
        open.push(new Frame(-1, -1, root, root.name(), new HashMap<>()));
    }

    public GenlMessageWriter u8(int type, int value) {
        int at = startAttr(type, 1);
        buf[at] = (byte) value;
        return this;
    }

    public GenlMessageWriter u16(int type, int value) {
        int at = startAttr(type, 2);
        Bytes.putU16(buf, at, value);
        return this;
    }

    public GenlMessageWriter u32(int type, int value) {
        int at = startAttr(type, 4);
        Bytes.putI32(buf, at, value);
        return this;
    }

    public GenlMessageWriter u64(int type, long value) {
        int at = startAttr(type, 8);
        Bytes.putI64(buf, at, value);
        return this;
    }

    /**
     * The kernel's variable-width {@code uint}: 4 bytes when the value fits in 32 bits, else 8
     * (its policy accepts both).
     */
    public GenlMessageWriter uint(int type, long value) {
        return (value & 0xFFFF_FFFF_0000_0000L) == 0 ? u32(type, (int) value) : u64(type, value);
    }

    /** A NUL-terminated string ({@code NLA_NUL_STRING} and {@code NLA_STRING} policies accept it). */
    public GenlMessageWriter string(int type, String value) {
        byte[] s = value.getBytes(StandardCharsets.UTF_8);
        int at = startAttr(type, s.length + 1);
        System.arraycopy(s, 0, buf, at, s.length);
        buf[at + s.length] = 0;
        return this;
    }

    /** Raw payload bytes, as given. */
    public GenlMessageWriter binary(int type, byte[] value) {
        int at = startAttr(type, value.length);
        System.arraycopy(value, 0, buf, at, value.length);
        return this;
    }

    /** A flag attribute: present, no payload. */
    public GenlMessageWriter flag(int type) {
        startAttr(type, 0);
        return this;
    }

    /** Opens a nest named after its attribute, e.g. {@code header}. Close it with {@link #endNest}. */
    public GenlMessageWriter beginNest(int type) {
        Frame parent = open.peek();
        return begin(type, parent.path + "." + parent.set.nameOf(type));
    }

    /**
     * Opens one element of a repeated nest (a multi-attr such as netdev's {@code queues}); elements
     * are named by their position among the siblings of the same type: {@code queues[0]},
     * {@code queues[1]}.
     */
    public GenlMessageWriter beginArrayElement(int type) {
        Frame parent = open.peek();
        int index = parent.elementCounts.merge(type, 1, Integer::sum) - 1;
        return begin(type, parent.path + "." + parent.set.nameOf(type) + "[" + index + "]");
    }

    public GenlMessageWriter endNest() {
        checkOpen();
        if (open.size() == 1) {
            throw new IllegalStateException("no nest is open");
        }
        Frame f = open.pop();
        int len = pos - f.headerOffset;
        if (len > 0xFFFF) {
            throw new IllegalStateException(f.path + " is " + len + " bytes, more than a nest can hold");
        }
        Bytes.putU16(buf, f.headerOffset, len);
        GenlRequest.Written w = written.get(f.writtenIndex);
        written.set(f.writtenIndex, new GenlRequest.Written(w.offset(), len, w.name(), w.nested()));
        return this;
    }

    /** Finishes the message. Every nest must be closed. */
    public GenlRequest build() {
        checkOpen();
        if (open.size() != 1) {
            throw new IllegalStateException("nest " + open.peek().path + " is still open");
        }
        built = true;
        Bytes.putI32(buf, 0, pos);
        return new GenlRequest(operation, familyId, cmd, Arrays.copyOf(buf, pos), root, written);
    }

    private GenlMessageWriter begin(int type, String path) {
        checkType(type);
        Frame parent = open.peek();
        AttributeSet inner = parent.set.nestOf(type).orElse(AttributeSet.named(path).build());
        int header = startAttrFlags(type | NLA_F_NESTED, 0, path, inner);
        open.push(new Frame(header, written.size() - 1, inner, path, new HashMap<>()));
        return this;
    }

    private int startAttr(int type, int payload) {
        checkType(type);
        Frame parent = open.peek();
        return startAttrFlags(type, payload, parent.path + "." + parent.set.nameOf(type), null) + NLA_HDRLEN;
    }

    /** Writes an attribute header, zeroes the padded payload, records it; returns the header's offset. */
    private int startAttrFlags(int typeAndFlags, int payload, String path, AttributeSet nested) {
        checkOpen();
        int len = NLA_HDRLEN + payload;
        if (len > 0xFFFF) {
            throw new IllegalArgumentException(path + " payload of " + payload + " bytes is too long for an attribute");
        }
        int header = pos;
        ensure(align(len));
        Arrays.fill(buf, header, header + align(len), (byte) 0);
        Bytes.putU16(buf, header, len);
        Bytes.putU16(buf, header + 2, typeAndFlags);
        pos = header + align(len);
        written.add(new GenlRequest.Written(header, len, path, nested));
        return header;
    }

    private static void checkType(int type) {
        if (type < 0 || type > NetlinkConstants.NLA_TYPE_MASK) {
            throw new IllegalArgumentException("attribute type " + type + " is outside 0.." + NetlinkConstants.NLA_TYPE_MASK);
        }
    }

    private void ensure(int more) {
        if (pos + more > buf.length) {
            buf = Arrays.copyOf(buf, Math.max(buf.length * 2, pos + more));
        }
    }

    private void checkOpen() {
        if (built) {
            throw new IllegalStateException("the message is already built");
        }
    }
}
