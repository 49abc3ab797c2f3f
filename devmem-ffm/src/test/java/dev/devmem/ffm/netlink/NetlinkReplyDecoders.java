package dev.devmem.ffm.netlink;

import dev.devmem.api.DevmemProtocolException;

import java.util.List;

/** The nlctrl decoders that are package-private, reachable from the fuzz tests. */
public final class NetlinkReplyDecoders {
    private NetlinkReplyDecoders() {
    }

    /** {@code CTRL_CMD_GETPOLICY} dump parts, as {@link OpPolicy#query} decodes them. */
    public static OpPolicy opPolicy(List<GenlMessage> parts) throws DevmemProtocolException {
        return OpPolicy.parse(13, parts);
    }

    /** A request the extended-ACK offsets of a fuzzed error are resolved against (a bind-rx shape). */
    public static GenlRequest sampleRequest() {
        AttributeSet queue = AttributeSet.named("queue").attr(1, "id").attr(3, "type").build();
        AttributeSet dmabuf = AttributeSet.named("dmabuf").attr(1, "ifindex").nest(2, "queues", queue).attr(3, "fd").build();
        return new GenlMessageWriter("bind-rx", 20, 13, 1, dmabuf)
                .u32(1, 3).u32(3, 7)
                .beginArrayElement(2).u32(1, 0).u32(3, 0).endNest()
                .build();
    }
}
