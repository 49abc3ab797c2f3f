package dev.devmem.ffm.rx;

import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * Host views of the dmabufs a socket may receive into, by binding id. A view exists only when the
 * dmabuf is host-mappable (a udmabuf, the emulated NIC's memfd); device memory has none.
 *
 * <p>Why the socket wants it: a DMABUF fragment then carries its bytes as
 * {@link dev.devmem.api.spi.ReceiveBatch#memory(int)}, and the socket checks every fragment lies
 * inside its dmabuf before anyone reads it.
 */
@FunctionalInterface
public interface DmabufViews {

    /** The view of binding {@code dmabufId}'s dmabuf, or {@code null} if it is not host-mappable or unknown. */
    MemorySegment hostView(int dmabufId);

    /** No dmabuf is host-mappable. */
    static DmabufViews none() {
        return id -> null;
    }

    /** One binding's dmabuf is mappable. */
    static DmabufViews of(int dmabufId, MemorySegment view) {
        Objects.requireNonNull(view, "view");
        return id -> id == dmabufId ? view : null;
    }
}
