package dev.devmem.api;

import java.util.Objects;

/**
 * What to bind for devmem TX (Linux 6.16+): a dmabuf to an interface.
 *
 * @param interfaceName the netdev the flows will leave through (the route device must match)
 * @param dmabuf        where the device memory comes from
 * @param copyFallback  opt-in: when the kernel refuses bind-tx with {@code EOPNOTSUPP} (the driver
 *                      cannot do devmem TX) and the dmabuf is host-mappable, return a binding that
 *                      sends the dmabuf's host view as ordinary host memory instead
 *                      ({@code sendmsg(MSG_ZEROCOPY)} without the devmem cmsg, which is what the
 *                      kernel does for binding id 0). Never silent: such a binding has id 0 and
 *                      {@link dev.devmem.api.spi.TxBinding#fallbackCause()} holds the kernel's refusal.
 *                      Off by default; any other refusal (EPERM, ENODEV, EINVAL) is thrown as is.
 */
public record TxBindingSpec(String interfaceName, DmabufSource dmabuf, boolean copyFallback) {

    public TxBindingSpec {
        Objects.requireNonNull(interfaceName, "interfaceName");
        Objects.requireNonNull(dmabuf, "dmabuf");
        if (interfaceName.isBlank()) {
            throw new IllegalArgumentException("interfaceName is blank");
        }
    }

    /** A strict binding: a kernel that cannot do devmem TX is an error. */
    public TxBindingSpec(String interfaceName, DmabufSource dmabuf) {
        this(interfaceName, dmabuf, false);
    }

    /** This spec with the copy fallback on or off. */
    public TxBindingSpec withCopyFallback(boolean enabled) {
        return new TxBindingSpec(interfaceName, dmabuf, enabled);
    }
}
