package dev.devmem.ffm.netlink;

import dev.devmem.api.Errno;
import dev.devmem.api.NetlinkException;

import java.util.Optional;

/**
 * A refused request with the extended ACK resolved against the request: the offending and the
 * missing attribute by name. A family's {@link ErrorExplainer} reads it to say what an answer
 * without text means; {@link #toException} makes the {@link NetlinkException}.
 *
 * @param request the request the kernel refused
 * @param ack     what the kernel answered
 */
public record NetlinkFailure(GenlRequest request, ExtAck ack, Optional<String> offendingAttribute,
                             Optional<String> missingAttribute) {

    /** Resolves {@code ack}'s offsets and missing type against {@code request}. */
    public static NetlinkFailure of(GenlRequest request, ExtAck ack) {
        Optional<String> offending = ack.offset().isPresent()
                ? Optional.of(request.attributeAt(ack.offset().getAsInt())
                        .orElse("byte " + ack.offset().getAsInt()))
                : Optional.empty();
        Optional<String> missing = ack.missingType().isPresent()
                ? Optional.of(request.missingAttribute(ack.missingType().getAsInt(), ack.missingNest()))
                : Optional.empty();
        return new NetlinkFailure(request, ack, offending, missing);
    }

    public String operation() {
        return request.operation();
    }

    public Errno errno() {
        return ack.errno();
    }

    /** Whether the kernel gave this errno and pointed at the attribute named {@code attribute}. */
    public boolean is(Errno e, String attribute) {
        return errno().equals(e) && offendingAttribute.filter(attribute::equals).isPresent();
    }

    public NetlinkException toException(String explanation) {
        return new NetlinkException(operation(), errno(), ack.message().orElse(null),
                offendingAttribute.orElse(null), missingAttribute.orElse(null),
                ack.policy().map(AttributePolicy::describe).orElse(null), explanation);
    }
}
