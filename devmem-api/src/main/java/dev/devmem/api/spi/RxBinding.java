package dev.devmem.api.spi;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Optional;

/**
 * A dmabuf bound to rx queues of one interface. Closing it unbinds; fragments the application still
 * holds stay valid until released (the kernel keeps the memory until every token is back).
 */
public interface RxBinding extends AutoCloseable {

    /** The binding id the kernel returned; DMABUF fragments carry it as their dmabuf id. */
    int id();

    String interfaceName();

    int ifindex();

    List<Integer> rxQueues();

    long dmabufSize();

    /** The dmabuf's bytes when it is host-mappable (udmabuf, the emulated NIC), read-only. */
    Optional<MemorySegment> hostView();

    boolean isOpen();

    /** Unbinds. Idempotent. */
    @Override
    void close();
}
