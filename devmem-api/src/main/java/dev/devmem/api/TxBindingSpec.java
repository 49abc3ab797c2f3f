package dev.devmem.api;

import java.util.Objects;

/**
 * What to bind for devmem TX (Linux 6.16+): a dmabuf to an interface.
 *
 * @param interfaceName the netdev the flows will leave through (the route device must match)
 * @param dmabuf        where the device memory comes from
 */
public record TxBindingSpec(String interfaceName, DmabufSource dmabuf) {

    public TxBindingSpec {
        Objects.requireNonNull(interfaceName, "interfaceName");
        Objects.requireNonNull(dmabuf, "dmabuf");
        if (interfaceName.isBlank()) {
            throw new IllegalArgumentException("interfaceName is blank");
        }
    }
}
