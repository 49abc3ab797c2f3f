package dev.devmem.ffm.emulated;

import java.util.HashSet;
import java.util.Set;

/**
 * The emulated kernel's binding id allocator: like {@code net_devmem_dmabuf_bindings} in
 * net/core/devmem.c, one process-wide ("kernel-wide") cyclic allocator
 * ({@code xa_alloc_cyclic(..., xa_limit_32b, &id_alloc_next)} on an {@code XA_FLAGS_ALLOC1}
 * xarray): ids are u32 in [1, 2^32-1], each new id is the first free one at or after the one
 * after the last id handed out, wrapping to 1. RX and TX bindings of every emulated NIC share it.
 */
final class BindingIds {
    private static final long MAX = 0xFFFF_FFFFL;
    private static final Set<Long> IN_USE = new HashSet<>();
    private static long next = 1;

    private BindingIds() {
    }

    /** Allocates an id, returned as a Java int carrying the u32 bits. */
    static synchronized int allocate() {
        if (IN_USE.size() >= MAX) {
            throw new IllegalStateException("binding id space exhausted");
        }
        long id = next;
        while (IN_USE.contains(id)) {
            id = id == MAX ? 1 : id + 1;
        }
        IN_USE.add(id);
        next = id == MAX ? 1 : id + 1;
        return (int) id;
    }

    static synchronized void free(int id) {
        IN_USE.remove(Integer.toUnsignedLong(id));
    }

    static synchronized boolean inUse(int id) {
        return IN_USE.contains(Integer.toUnsignedLong(id));
    }
}
