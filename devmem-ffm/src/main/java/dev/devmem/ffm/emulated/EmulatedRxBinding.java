package dev.devmem.ffm.emulated;

import dev.devmem.api.spi.RxBinding;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Optional;

/**
 * A host-memory "dmabuf" (a memfd mapped into the process, the way udmabuf wraps host memory)
 * bound to rx queues of an {@link EmulatedNic}: the emulated {@code net_devmem_dmabuf_binding}.
 *
 * <p>The dmabuf is cut into {@link #bufferCount()} rx buffers of the NIC's frag size (the
 * net_iovs). Each buffer carries a reference count like {@code pp_ref_count}: one reference while a
 * received skb holds it, plus one per token handed to the application. A buffer goes back to the
 * pool when its count reaches zero.
 *
 * <p>{@link #close()} is the kernel's unbind: the id is freed at once and the queues lose their
 * provider (new data on them is plain), but the memory stays mapped while any buffer is still
 * referenced (a token not yet returned, an skb still queued on a socket) and is unmapped when the
 * last reference goes. {@link #isMemoryReleased()} tells when that happened. After the unmap every
 * view from {@link #hostView()} is invalid (access throws, it does not crash).
 *
 * <p>Threading: the pool is shared, a buffer is not. Sockets on any number of threads share the
 * pool, whose lock is taken only where the pool itself changes: {@link #take} (buffers leave the free
 * stack for one socket's new skb) and {@link #recycle} (buffers whose count reached zero come back,
 * starved readers are signalled, or the memory is unmapped after close). Between the two, every
 * reference to a buffer belongs to the one socket that took it: its skb, and tokens in that socket's
 * own token table (a token names a frag of that socket's skb). A socket is used by one thread at a
 * time, like its token table and skb queue, which are not synchronised either. So a buffer's count
 * is only ever read and written by its owning socket's current thread, and the pool's lock orders
 * one owner's last write before the next owner's first (the {@code recycle} that frees it
 * happens-before the {@code take} that reuses it): plain ints, no atomic and no lock per reference.
 * (The kernel's {@code pp_ref_count} is atomic because a page pool's pages can be referenced from
 * several contexts at once; here they cannot.) Measured on the receive benchmark, one
 * {@code lock xadd} per frag cost 15-25% of the engine's CPU time. Callers batch the buffers that
 * reached zero (a whole DONTNEED, an eaten skb) into one {@code recycle}, so the lock is taken once
 * per batch, not once per frag.
 */
public final class EmulatedRxBinding extends EmulatedBinding implements RxBinding {
    private final List<Integer> queues;
    private final EmulatedQueue[] queueObjects;
    private final int fragSize;
    private final int bufferCount;
    private final MemorySegment memory;
    private final MemorySegment readOnlyView;

    /** Per-buffer reference counts; a buffer on the free stack has 0. Owned by the socket holding the buffer, see above. */
    private final int[] refs;
    // guarded by this
    private final int[] freeStack;
    private int freeCount;
    private int held;
    private boolean waiters;
    private boolean memoryReleased;
    private long stalls;

    EmulatedRxBinding(EmulatedNic nic, int id, List<Integer> queues, EmulatedQueue[] queueObjects, int fragSize,
                      EmulatedDmabuf dmabuf) {
        super(nic, id, dmabuf);
        this.queues = List.copyOf(queues);
        this.queueObjects = queueObjects;
        this.fragSize = fragSize;
        this.bufferCount = (int) Math.min(Integer.MAX_VALUE - 8, dmabuf.size / fragSize);
        this.memory = dmabuf.memory;
        this.readOnlyView = memory.asReadOnly();
        this.refs = new int[bufferCount];
        this.freeStack = new int[bufferCount];
        // Hand out low buffers first: buffer i is pushed so that 0 is on top.
        for (int i = 0; i < bufferCount; i++) {
            freeStack[i] = bufferCount - 1 - i;
        }
        this.freeCount = bufferCount;
    }

    @Override
    public List<Integer> rxQueues() {
        return queues;
    }

    /** The dmabuf's bytes, read-only: what "device memory" received. Invalid once {@link #isMemoryReleased()}. */
    @Override
    public Optional<MemorySegment> hostView() {
        return Optional.of(readOnlyView);
    }

    /** The size of one rx buffer (frag). */
    public int fragSize() {
        return fragSize;
    }

    /** How many rx buffers the dmabuf holds: {@code dmabufSize / fragSize}. */
    public int bufferCount() {
        return bufferCount;
    }

    /** Buffers in the pool, ready for the NIC to fill. */
    public synchronized int buffersFree() {
        return open ? freeCount : 0;
    }

    /** Buffers referenced by a queued skb or an outstanding token. */
    public synchronized int buffersHeld() {
        return held;
    }

    /** Times a reader found this pool empty and stopped reading the wire. */
    public synchronized long stalls() {
        return stalls;
    }

    /** Whether the dmabuf has been unmapped (and its memfd closed): only after close and the last reference. */
    public synchronized boolean isMemoryReleased() {
        return memoryReleased;
    }

    /** The byte offset of buffer {@code index} in the dmabuf. */
    long bufferOffset(int index) {
        return (long) index * fragSize;
    }

    /** The writable mapping (the NIC's DMA target). */
    MemorySegment memory() {
        return memory;
    }

    /**
     * Takes up to {@code max} free buffers for a new skb, each with one reference. Returns how many
     * were taken; 0 when the pool is empty (then {@code queue}'s eventfd is armed: drained now and
     * signalled when a buffer comes back); -1 when the binding is closed.
     */
    synchronized int take(int[] out, int max, EmulatedQueue queue) {
        if (!open) {
            return -1;
        }
        if (freeCount == 0) {
            waiters = true;
            stalls++;
            queue.drain();
            return 0;
        }
        int n = Math.min(max, freeCount);
        for (int i = 0; i < n; i++) {
            int b = freeStack[--freeCount];
            refs[b] = 1;
            out[i] = b;
        }
        held += n;
        return n;
    }

    /**
     * {@code n} more references on a buffer the calling socket already holds a reference to (tokens
     * handed out for a frag of its skb). No lock: the buffer is the caller's.
     */
    void ref(int buffer, int n) {
        refs[buffer] += n;
    }

    /**
     * Drops one reference of the calling socket's. Returns {@code true} when it was the last: the
     * buffer must then go back through {@link #recycle} (at once or batched with others); nobody
     * else can reach it meanwhile.
     *
     * @throws IllegalStateException when the buffer had no reference (released too often); the count
     *                               is left at zero
     */
    boolean drop(int buffer) {
        int r = --refs[buffer];
        if (r > 0) {
            return false;
        }
        if (r < 0) {
            refs[buffer] = 0;
            throw new IllegalStateException("buffer " + buffer + " of binding " + id + " released too often");
        }
        return true;
    }

    /**
     * Gives back {@code count} buffers whose last reference the caller dropped ({@link #drop}
     * returned {@code true}), under one acquisition of the pool's lock: to the free stack (signalling
     * readers starved of buffers), or after close to nobody, unmapping the memory with the last.
     */
    synchronized void recycle(int[] buffers, int count) {
        for (int i = 0; i < count; i++) {
            recycleLocked(buffers[i]);
        }
        afterRecycleLocked();
    }

    // guarded by this
    private void recycleLocked(int buffer) {
        held--;
        if (open) {
            freeStack[freeCount++] = buffer;
        }
    }

    // guarded by this
    private void afterRecycleLocked() {
        if (open) {
            if (waiters && freeCount > 0) {
                waiters = false;
                for (EmulatedQueue q : queueObjects) {
                    q.signal();
                }
            }
        } else if (held == 0) {
            releaseMemory();
        }
    }

    /** Unbinds: frees the id, detaches from the queues, and unmaps now or when the last reference goes. Idempotent. */
    @Override
    public void close() {
        if (!unbind()) {
            return;
        }
        synchronized (this) {
            freeCount = 0;
        }
        nic.detach(this, queueObjects);
        BindingIds.free(id);
        synchronized (this) {
            // Readers parked on a starved pool must look again: their queue has no provider now.
            for (EmulatedQueue q : queueObjects) {
                q.signal();
            }
            if (held == 0) {
                releaseMemory();
            }
        }
    }

    // guarded by this
    private void releaseMemory() {
        if (memoryReleased) {
            return;
        }
        memoryReleased = true;
        dmabuf.release();
        nic.memoryReleased(this);
    }

    @Override
    public String toString() {
        return "EmulatedRxBinding[id=" + Integer.toUnsignedString(id) + ", " + interfaceName() + " queues " + queues
                + ", " + bufferCount + " x " + fragSize + " B]";
    }
}
