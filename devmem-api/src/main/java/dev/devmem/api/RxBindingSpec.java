package dev.devmem.api;

import java.util.List;
import java.util.Objects;

/**
 * What to bind for devmem RX: a dmabuf to one or more rx queues of one interface.
 *
 * @param interfaceName the netdev name, e.g. {@code eth1}
 * @param rxQueues      rx queue ids; the kernel merges duplicates, so they are rejected here
 * @param dmabuf        where the device memory comes from
 */
public record RxBindingSpec(String interfaceName, List<Integer> rxQueues, DmabufSource dmabuf) {

    public RxBindingSpec {
        Objects.requireNonNull(interfaceName, "interfaceName");
        Objects.requireNonNull(dmabuf, "dmabuf");
        rxQueues = List.copyOf(Objects.requireNonNull(rxQueues, "rxQueues"));
        if (interfaceName.isBlank()) {
            throw new IllegalArgumentException("interfaceName is blank");
        }
        if (rxQueues.isEmpty()) {
            throw new IllegalArgumentException("at least one rx queue is needed");
        }
        if (rxQueues.stream().distinct().count() != rxQueues.size()) {
            throw new IllegalArgumentException("rx queues repeat: " + rxQueues);
        }
        for (int q : rxQueues) {
            if (q < 0) {
                throw new IllegalArgumentException("rx queue ids are >= 0: " + rxQueues);
            }
        }
    }
}
