package dev.devmem.ffm.emulated;

import dev.devmem.api.DevmemException;
import dev.devmem.api.spi.TxBinding;

import java.lang.foreign.MemorySegment;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * A host-memory "dmabuf" (a memfd mapped writable into the process) bound for devmem TX to an
 * {@link EmulatedNic}: the emulated {@code net_devmem_dmabuf_binding} with {@code DMA_TO_DEVICE}.
 *
 * <p>Ids come from the same kernel-wide allocator as rx bindings ({@link BindingIds}), and TX
 * bindings are found by id from every emulated socket, as the kernel's {@code xa_load} finds them:
 * the socket then checks that the binding belongs to its own NIC (else ENODEV, the kernel's "route
 * device differs"). An rx binding's id is not a TX binding (EINVAL, the kernel's missing
 * {@code tx_vec}).
 *
 * <p><b>Lifetime.</b> {@link #close()} is the kernel's unbind: the id is freed at once, so later
 * sends naming it fail with EINVAL. A send in progress holds a reference (the kernel's
 * {@code net_devmem_get_binding}); the mapping is unmapped when the last one lets go. Bytes of
 * sends still in flight stay valid after that: the emulated NIC sends them with a real
 * {@code MSG_ZEROCOPY}, so the kernel holds the memfd's pages until it reports them complete.
 *
 * <p>A copy-fallback binding ({@link #fallbackCause()} present) has id 0 and is never looked up:
 * its host view is sent as ordinary host memory.
 */
public final class EmulatedTxBinding extends EmulatedBinding implements TxBinding {
    /** The kernel's {@code net_devmem_dmabuf_bindings}, TX side: id to binding, for every emulated NIC. */
    private static final Map<Integer, EmulatedTxBinding> BY_ID = new ConcurrentHashMap<>();

    private final MemorySegment memory;
    private final long address;
    private final DevmemException fallbackCause;
    final LongAdder sends = new LongAdder();
    final LongAdder bytes = new LongAdder();

    // guarded by this
    private int users;
    private boolean memoryReleased;

    EmulatedTxBinding(EmulatedNic nic, int id, EmulatedDmabuf dmabuf, DevmemException fallbackCause) {
        super(nic, id, dmabuf);
        this.memory = dmabuf.memory;
        this.address = memory.address();
        this.fallbackCause = fallbackCause;
        if (id != 0) {
            BY_ID.put(id, this);
        }
    }

    /**
     * {@code net_devmem_lookup_dmabuf}: the open TX binding with {@code id}, referenced for one send
     * ({@link #release()} it), or null.
     */
    static EmulatedTxBinding acquire(int id) {
        EmulatedTxBinding b = BY_ID.get(id);
        if (b == null) {
            return null;
        }
        synchronized (b) {
            if (!b.open) {
                return null;
            }
            b.users++;
        }
        return b;
    }

    /** Drops the reference of one send. */
    void release() {
        synchronized (this) {
            users--;
            if (open || users > 0) {
                return;
            }
        }
        releaseMemory();
    }

    EmulatedNic nic() {
        return nic;
    }

    /** The host address of dmabuf offset 0 (valid while a reference is held). */
    long address() {
        return address;
    }

    /** The dmabuf's bytes, writable: fill them, then send. Invalid (access throws) once closed. */
    @Override
    public Optional<MemorySegment> hostView() {
        return Optional.of(memory);
    }

    @Override
    public Optional<DevmemException> fallbackCause() {
        return Optional.ofNullable(fallbackCause);
    }

    /** Devmem sends that named this binding and took bytes. */
    public long sends() {
        return sends.sum();
    }

    /** Bytes those sends took from the dmabuf. */
    public long bytesSent() {
        return bytes.sum();
    }

    /** Whether the mapping is gone (closed, and no send was using it). */
    public synchronized boolean isMemoryReleased() {
        return memoryReleased;
    }

    /** Unbinds: the id is freed now; the mapping goes when no send uses it. Idempotent. */
    @Override
    public void close() {
        if (!unbind()) {
            return;
        }
        if (id != 0) {
            BY_ID.remove(id, this);
            BindingIds.free(id);
        }
        nic.txBindingClosed(this);
        synchronized (this) {
            if (users > 0) {
                return;
            }
        }
        releaseMemory();
    }

    private void releaseMemory() {
        synchronized (this) {
            if (memoryReleased) {
                return;
            }
            memoryReleased = true;
        }
        dmabuf.release();
    }

    @Override
    public String toString() {
        return "EmulatedTxBinding[id=" + Integer.toUnsignedString(id) + ", " + interfaceName() + ", " + dmabuf.size + " B"
                + (fallbackCause != null ? ", copy fallback" : "") + "]";
    }
}
