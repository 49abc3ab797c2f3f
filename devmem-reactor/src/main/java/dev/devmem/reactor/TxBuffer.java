package dev.devmem.reactor;

import dev.devmem.api.DevmemException;
import dev.devmem.api.spi.TxBinding;
import reactor.core.publisher.Mono;
import reactor.core.publisher.MonoSink;

import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The TX binding's dmabuf as leasable {@link TxSlice}s, for one {@link DevmemSender} subscription.
 *
 * <p>A ring allocator: regions are handed out in order from the start of the dmabuf, wrapping to its
 * start when the end has no room (a region is always contiguous: it is one iov of one send), and a
 * region becomes free only when its slice is done (its sends completed, or it was released unsent).
 * Freed regions are reclaimed from the oldest on; one freed out of order waits for the ones before
 * it. {@link #lease(long)} waits for room, first come first served.
 *
 * <p>Thread-safe: leases come from any thread, frees from the sender's I/O thread. A waiting lease
 * completes on the thread that freed the room (usually the I/O thread): move heavy filling elsewhere
 * with {@code publishOn}.
 */
public final class TxBuffer {
    private final TxBinding binding;
    private final long capacity;
    private final MemorySegment view;

    // guarded by this
    private final ArrayDeque<TxSlice> regions = new ArrayDeque<>();
    private final ArrayDeque<Waiter> waiters = new ArrayDeque<>();
    private long tail;
    private long leasedBytes;
    private long leases;
    private long waits;
    private boolean closed;

    TxBuffer(TxBinding binding) {
        this.binding = binding;
        this.capacity = binding.dmabufSize();
        this.view = binding.hostView().orElse(null);
    }

    /** The dmabuf size. */
    public long capacity() {
        return capacity;
    }

    /** The TX binding id (0 on the copy fallback). */
    public int bindingId() {
        return binding.id();
    }

    /** Whether slices have a host view ({@link TxSlice#segment()}); false for GPU memory. */
    public boolean hostMappable() {
        return view != null;
    }

    /**
     * Why this subscription sends from host memory instead of device memory (the kernel's refusal of
     * bind-tx, turned into a host binding by {@link DevmemSender#copyFallback(boolean)}); empty on devmem.
     */
    public Optional<DevmemException> fallbackCause() {
        return binding.fallbackCause();
    }

    /**
     * Leases {@code length} contiguous bytes now, or returns {@code null} when there is no room (or
     * leases are waiting).
     */
    public TxSlice tryLease(long length) {
        check(length);
        synchronized (this) {
            if (closed) {
                throw new IllegalStateException("the TX buffer is closed: its send subscription ended");
            }
            return waiters.isEmpty() ? allocate(length) : null;
        }
    }

    /**
     * Leases {@code length} contiguous bytes, waiting for earlier slices to complete when there is no
     * room. Errors when the buffer closes first. A lease cancelled after it got its slice gives the
     * slice back.
     */
    public Mono<TxSlice> lease(long length) {
        check(length);
        return Mono.create(sink -> {
            TxSlice s;
            Waiter w = null;
            synchronized (this) {
                if (closed) {
                    s = null;
                } else {
                    s = waiters.isEmpty() ? allocate(length) : null;
                    if (s == null) {
                        w = new Waiter(length, sink);
                        waiters.add(w);
                        waits++;
                    }
                }
            }
            if (s != null) {
                sink.success(s);
            } else if (w == null) {
                sink.error(new IllegalStateException("the TX buffer is closed: its send subscription ended"));
            } else {
                Waiter waiter = w;
                sink.onCancel(() -> cancel(waiter));
            }
        });
    }

    private void check(long length) {
        if (length < 1 || length > capacity) {
            throw new IllegalArgumentException("a slice must be 1 to " + capacity + " bytes (the dmabuf size), was "
                    + length);
        }
    }

    /** Bytes of regions not yet reclaimed: leased, with the sender, or freed behind an older region. */
    public synchronized long leasedBytes() {
        return leasedBytes;
    }

    /** Slices not yet reclaimed. */
    public synchronized int outstandingSlices() {
        return regions.size();
    }

    /** Leases granted so far. */
    public synchronized long leases() {
        return leases;
    }

    /** Leases that had to wait for room (the buffer, not the in-flight cap, was holding the sender back). */
    public synchronized long waits() {
        return waits;
    }

    /** Leases waiting for room. */
    public synchronized int waitingLeases() {
        return waiters.size();
    }

    MemorySegment view(long offset, long length) {
        if (view == null) {
            throw new UnsupportedOperationException("the dmabuf of TX binding " + binding.id() + " has no host view"
                    + " (device memory): fill it with the device's API at the slice's offset");
        }
        return view.asSlice(offset, length);
    }

    // guarded by this
    private TxSlice allocate(long length) {
        long at;
        if (regions.isEmpty()) {
            tail = 0;
            at = 0;
        } else {
            long head = regions.peekFirst().offset();
            boolean wrapped = regions.peekLast().offset() < head;
            if (!wrapped) {
                if (capacity - tail >= length) {
                    at = tail;
                } else if (head >= length) {
                    at = 0; // the end has no room: wrap, leaving the end unused until we pass it again
                } else {
                    return null;
                }
            } else if (head - tail >= length) {
                at = tail;
            } else {
                return null;
            }
        }
        TxSlice s = new TxSlice(this, at, length);
        regions.addLast(s);
        tail = at + length;
        leasedBytes += length;
        leases++;
        return s;
    }

    /** A slice is done: reclaim what can be, then serve waiting leases. */
    void free(TxSlice slice) {
        List<Object[]> grants = null;
        synchronized (this) {
            while (!regions.isEmpty() && regions.peekFirst().state() == TxSlice.DONE) {
                leasedBytes -= regions.pollFirst().length();
            }
            while (!waiters.isEmpty() && !closed) {
                Waiter w = waiters.peekFirst();
                TxSlice s = allocate(w.length);
                if (s == null) {
                    break;
                }
                waiters.pollFirst();
                if (grants == null) {
                    grants = new ArrayList<>();
                }
                grants.add(new Object[]{w, s});
            }
        }
        if (grants != null) {
            for (Object[] g : grants) {
                ((Waiter) g[0]).grant((TxSlice) g[1]);
            }
        }
    }

    private void cancel(Waiter w) {
        synchronized (this) {
            waiters.remove(w);
        }
        // a grant racing with this cancel sees it and gives the slice back
        w.cancel();
    }

    /** The subscription ended: waiting leases fail; slices still out stay unusable. */
    void close() {
        List<Waiter> failed;
        synchronized (this) {
            closed = true;
            failed = new ArrayList<>(waiters);
            waiters.clear();
        }
        for (Waiter w : failed) {
            w.cancel();
            w.sink.error(new IllegalStateException("the TX buffer closed: its send subscription ended"));
        }
    }

    @Override
    public synchronized String toString() {
        return "TxBuffer[binding " + Integer.toUnsignedString(binding.id()) + ", " + capacity + " bytes, "
                + leasedBytes + " leased in " + regions.size() + " slices, " + waiters.size() + " waiting]";
    }

    private static final class Waiter extends java.util.concurrent.atomic.AtomicInteger {
        private static final int WAITING = 0;
        private static final int GRANTED = 1;
        private static final int CANCELLED = 2;
        final long length;
        final MonoSink<TxSlice> sink;

        Waiter(long length, MonoSink<TxSlice> sink) {
            this.length = length;
            this.sink = sink;
        }

        void grant(TxSlice s) {
            if (compareAndSet(WAITING, GRANTED)) {
                sink.success(s);
            } else {
                s.release(); // nobody waits for it any more
            }
        }

        void cancel() {
            compareAndSet(WAITING, CANCELLED);
        }
    }
}
