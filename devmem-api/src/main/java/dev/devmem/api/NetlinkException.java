package dev.devmem.api;

import java.util.Optional;

/**
 * A netlink request was refused. Besides the errno it carries what the kernel's extended ACK said:
 * its message ({@code NLMSGERR_ATTR_MSG}), the attribute it rejected ({@code NLMSGERR_ATTR_OFFS},
 * resolved back to the attribute's name in the request) or the attribute it missed
 * ({@code NLMSGERR_ATTR_MISS_TYPE}), and the policy that was violated.
 *
 * <p>Where the kernel gives no text (bind-rx on a device without queue management answers only
 * {@code EOPNOTSUPP} and the offset of {@code ifindex}), {@link #explanation()} says what that
 * combination means.
 */
public class NetlinkException extends SyscallException {
    private static final long serialVersionUID = 1L;

    private final String extackMessage;
    private final String offendingAttribute;
    private final String missingAttribute;
    private final String policy;

    public NetlinkException(String operation, Errno errno, String extackMessage, String offendingAttribute,
                            String missingAttribute, String policy, String explanation) {
        super(operation, errno, explanation,
                format(operation, errno, extackMessage, offendingAttribute, missingAttribute, policy, explanation));
        this.extackMessage = extackMessage;
        this.offendingAttribute = offendingAttribute;
        this.missingAttribute = missingAttribute;
        this.policy = policy;
    }

    private static String format(String operation, Errno errno, String msg, String offending, String missing,
                                 String policy, String explanation) {
        StringBuilder sb = new StringBuilder(operation).append(" failed: ").append(errno);
        if (msg != null) {
            sb.append(": kernel says \"").append(msg).append('"');
        }
        if (offending != null) {
            sb.append("; rejected attribute ").append(offending);
        }
        if (missing != null) {
            sb.append("; missing attribute ").append(missing);
        }
        if (policy != null) {
            sb.append(" (policy ").append(policy).append(')');
        }
        if (explanation != null) {
            sb.append(". ").append(explanation);
        }
        return sb.toString();
    }

    /** The kernel's own extack text, e.g. "Driver does not support netmem TX". */
    public Optional<String> extackMessage() {
        return Optional.ofNullable(extackMessage);
    }

    /** The attribute the kernel pointed at with NLMSGERR_ATTR_OFFS, e.g. {@code dmabuf.ifindex}. */
    public Optional<String> offendingAttribute() {
        return Optional.ofNullable(offendingAttribute);
    }

    /** The attribute the kernel reported missing with NLMSGERR_ATTR_MISS_TYPE, e.g. {@code dmabuf.fd}. */
    public Optional<String> missingAttribute() {
        return Optional.ofNullable(missingAttribute);
    }

    /** The violated policy as the kernel described it, e.g. {@code u32 min 1 max 4294967295}. */
    public Optional<String> policy() {
        return Optional.ofNullable(policy);
    }
}
