package dev.devmem.ffm.netlink;

import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * A generic-netlink request ready to send, plus the map from byte offsets back to attribute names
 * that the kernel's extended ACK needs: {@code NLMSGERR_ATTR_OFFS} and {@code MISS_NEST} are
 * offsets from the start of this message's {@code nlmsghdr}. Built by {@link GenlMessageWriter};
 * immutable.
 */
public final class GenlRequest {

    /** One attribute the writer put: header offset, {@code nla_len}, dotted name, set inside (nests). */
    record Written(int offset, int length, String name, AttributeSet nested) {
    }

    private final String operation;
    private final int familyId;
    private final int cmd;
    private final byte[] template;
    private final AttributeSet root;
    private final List<Written> written;

    GenlRequest(String operation, int familyId, int cmd, byte[] template, AttributeSet root, List<Written> written) {
        this.operation = operation;
        this.familyId = familyId;
        this.cmd = cmd;
        this.template = template;
        this.root = root;
        this.written = List.copyOf(written);
    }

    /** What errors call this request, e.g. {@code netdev bind-rx}. */
    public String operation() {
        return operation;
    }

    public int familyId() {
        return familyId;
    }

    public int cmd() {
        return cmd;
    }

    public int length() {
        return template.length;
    }

    /** The message with {@code nlmsg_flags} and {@code nlmsg_seq} filled in ({@code nlmsg_pid} 0: to the kernel). */
    public byte[] encode(int flags, int seq) {
        byte[] b = template.clone();
        Bytes.putU16(b, 6, flags);
        Bytes.putI32(b, 8, seq);
        return b;
    }

    /**
     * The name of the attribute at {@code offset} (from the start of the {@code nlmsghdr}), e.g.
     * {@code dmabuf.ifindex}. An offset inside an attribute rather than at its header resolves to
     * the innermost attribute holding it, with the distance, e.g. {@code dmabuf.fd+2}.
     */
    public Optional<String> attributeAt(int offset) {
        Written best = null;
        for (Written w : written) {
            if (offset >= w.offset() && offset < w.offset() + Math.max(w.length(), 1)
                    && (best == null || w.offset() >= best.offset())) {
                best = w;
            }
        }
        if (best == null) {
            return Optional.empty();
        }
        return Optional.of(offset == best.offset() ? best.name() : best.name() + "+" + (offset - best.offset()));
    }

    /**
     * The name of an attribute the kernel found missing ({@code NLMSGERR_ATTR_MISS_TYPE}): inside the
     * nest at {@code nestOffset} ({@code MISS_NEST}) when given, else at the top level.
     */
    public String missingAttribute(int type, OptionalInt nestOffset) {
        if (nestOffset.isPresent()) {
            int at = nestOffset.getAsInt();
            for (Written w : written) {
                if (w.offset() == at && w.nested() != null) {
                    return w.name() + "." + w.nested().nameOf(type);
                }
            }
            return attributeAt(at).orElse("nest@" + at) + "." + "#" + type;
        }
        return root.name() + "." + root.nameOf(type);
    }

    /** The bytes of the request without flags and sequence number, as hex (golden tests). */
    public String hex() {
        return HexFormat.of().formatHex(template);
    }

    @Override
    public String toString() {
        return "GenlRequest[" + operation + ", family " + familyId + ", cmd " + cmd + ", " + template.length + " bytes]";
    }
}
