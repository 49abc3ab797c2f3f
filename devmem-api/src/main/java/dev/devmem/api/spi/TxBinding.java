package dev.devmem.api.spi;

import java.lang.foreign.MemorySegment;
import java.util.Optional;

/** A dmabuf bound for devmem TX to one interface. Closing it unbinds. */
public interface TxBinding extends AutoCloseable {

    /** The TX binding id that sendmsg's {@code SCM_DEVMEM_DMABUF} cmsg carries. */
    int id();

    String interfaceName();

    int ifindex();

    long dmabufSize();

    /** The dmabuf's bytes when host-mappable, writable so that applications can fill it. */
    Optional<MemorySegment> hostView();

    boolean isOpen();

    @Override
    void close();
}
