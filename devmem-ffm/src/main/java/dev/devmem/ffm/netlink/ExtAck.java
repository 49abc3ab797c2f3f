package dev.devmem.ffm.netlink;

import dev.devmem.api.DevmemProtocolException;
import dev.devmem.api.Errno;

import java.util.Optional;
import java.util.OptionalInt;

import static dev.devmem.ffm.netlink.NetlinkConstants.*;

/**
 * The kernel's answer to a request: an {@code NLMSG_ERROR} (error 0 is an ACK) or the error code a
 * dump's {@code NLMSG_DONE} carries, with the extended-ACK TLVs when {@code NLM_F_ACK_TLVS} is set.
 *
 * <p>Layout of an ERROR: {@code int error}, the request's {@code nlmsghdr}, the request's payload
 * unless {@code NLM_F_CAPPED}, then the TLVs. A DONE holds {@code int error} then the TLVs.
 *
 * @param error         0 or a negative errno
 * @param message       {@code NLMSGERR_ATTR_MSG}
 * @param offset        {@code NLMSGERR_ATTR_OFFS}: byte offset of the offending attribute from the
 *                      start of the request's {@code nlmsghdr}
 * @param missingType   {@code NLMSGERR_ATTR_MISS_TYPE}
 * @param missingNest   {@code NLMSGERR_ATTR_MISS_NEST}: offset of the nest that lacks it
 * @param policy        {@code NLMSGERR_ATTR_POLICY}
 * @param requestSeq    the sequence number of the request this answers (ERROR only, else 0)
 */
public record ExtAck(int error, Optional<String> message, OptionalInt offset, OptionalInt missingType,
                     OptionalInt missingNest, Optional<AttributePolicy> policy, Optional<byte[]> cookie,
                     int requestSeq) {

    /** Decodes an {@code NLMSG_ERROR} message. */
    public static ExtAck ofError(NlMessage m) throws DevmemProtocolException {
        byte[] b = m.bytes();
        int fixed = NLMSG_HDRLEN + 4 + NLMSG_HDRLEN;
        if (m.type() != NLMSG_ERROR || b.length < fixed) {
            throw new DevmemProtocolException("not an NLMSG_ERROR of at least " + fixed + " bytes: " + m);
        }
        int error = Bytes.i32(b, NLMSG_HDRLEN);
        int origLen = Bytes.i32(b, NLMSG_HDRLEN + 4);
        int requestSeq = Bytes.i32(b, NLMSG_HDRLEN + 4 + 8);
        int tlvs = fixed;
        if (!m.hasFlags(NLM_F_CAPPED)) {
            if (origLen < NLMSG_HDRLEN || origLen > b.length - NLMSG_HDRLEN - 4) {
                throw new DevmemProtocolException("NLMSG_ERROR echoes a request of " + Integer.toUnsignedString(origLen)
                        + " bytes in a " + b.length + "-byte message");
            }
            tlvs = align(NLMSG_HDRLEN + 4 + origLen);
        }
        return decode(m, error, tlvs, requestSeq);
    }

    /** Decodes the error of an {@code NLMSG_DONE} that ends a dump (0 when the dump succeeded). */
    public static ExtAck ofDone(NlMessage m) throws DevmemProtocolException {
        byte[] b = m.bytes();
        if (m.type() != NLMSG_DONE) {
            throw new DevmemProtocolException("not an NLMSG_DONE: " + m);
        }
        if (b.length < NLMSG_HDRLEN + 4) {
            return new ExtAck(0, Optional.empty(), OptionalInt.empty(), OptionalInt.empty(), OptionalInt.empty(),
                    Optional.empty(), Optional.empty(), 0);
        }
        return decode(m, Bytes.i32(b, NLMSG_HDRLEN), NLMSG_HDRLEN + 4, 0);
    }

    private static final int MAX_ERRNO = 4095;

    private static ExtAck decode(NlMessage m, int error, int tlvOffset, int requestSeq)
            throws DevmemProtocolException {
        byte[] b = m.bytes();
        if (error > 0 || error < -MAX_ERRNO) {
            // the kernel sends 0 or -errno, and errnos end at MAX_ERRNO (include/linux/err.h)
            throw new DevmemProtocolException("netlink error code " + error + " is neither 0 nor a negative errno");
        }
        if (!m.hasFlags(NLM_F_ACK_TLVS) || tlvOffset >= b.length) {
            return new ExtAck(error, Optional.empty(), OptionalInt.empty(), OptionalInt.empty(), OptionalInt.empty(),
                    Optional.empty(), Optional.empty(), requestSeq);
        }
        NlAttributes t = NlAttributes.parse(b, tlvOffset, b.length - tlvOffset, "extack");
        Optional<AttributePolicy> policy = Optional.empty();
        Optional<NlAttributes> p = t.nested(NLMSGERR_ATTR_POLICY);
        if (p.isPresent()) {
            policy = Optional.of(AttributePolicy.parse(p.get()));
        }
        return new ExtAck(error, t.string(NLMSGERR_ATTR_MSG), t.u32(NLMSGERR_ATTR_OFFS),
                t.u32(NLMSGERR_ATTR_MISS_TYPE), t.u32(NLMSGERR_ATTR_MISS_NEST), policy,
                t.binary(NLMSGERR_ATTR_COOKIE), requestSeq);
    }

    public boolean isAck() {
        return error == 0;
    }

    /** The errno of a failure. */
    public Errno errno() {
        return Errno.of(-error);
    }
}
