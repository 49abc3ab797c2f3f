package dev.devmem.ffm.netlink;

/**
 * Family knowledge the generic client lacks: what an errno means for one request when the kernel
 * gave no text. For example, netdev's bind-rx answers only {@code EOPNOTSUPP} plus the offset of
 * {@code ifindex} when the device has no queue-management API; the netdev family explains that.
 */
@FunctionalInterface
public interface ErrorExplainer {

    /** Explains nothing; the exception carries only what the kernel said. */
    ErrorExplainer NONE = failure -> null;

    /** A sentence for the user, or {@code null} when there is nothing to add. */
    String explain(NetlinkFailure failure);
}
