package dev.devmem.api.spi;

import dev.devmem.api.DevmemException;

import java.lang.foreign.MemorySegment;
import java.util.Optional;

/**
 * A dmabuf bound for devmem TX to one interface. Closing it unbinds: sends that name it fail from
 * then on (EINVAL), while sends already queued keep their memory until the kernel completes them.
 */
public interface TxBinding extends AutoCloseable {

    /**
     * The TX binding id that sendmsg's {@code SCM_DEVMEM_DMABUF} cmsg carries; {@code 0} for a
     * {@linkplain #fallbackCause() copy-fallback} binding (0 is the kernel's "not devmem").
     */
    int id();

    String interfaceName();

    int ifindex();

    long dmabufSize();

    /** The dmabuf's bytes when host-mappable, writable so that applications can fill it. */
    Optional<MemorySegment> hostView();

    /**
     * Why this binding sends from host memory instead of device memory: the kernel's refusal of
     * bind-tx that {@link dev.devmem.api.TxBindingSpec#copyFallback()} turned into a host-memory
     * binding. Empty for a real devmem TX binding.
     */
    default Optional<DevmemException> fallbackCause() {
        return Optional.empty();
    }

    boolean isOpen();

    @Override
    void close();
}
