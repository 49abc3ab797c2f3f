package dev.devmem.reactor.tx;

import dev.devmem.api.DevmemException;
import dev.devmem.api.spi.TxBinding;
import reactor.core.publisher.Mono;
import reactor.core.publisher.MonoSink;

import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/**
 * The ring allocator behind the public {@code TxBuffer} (which documents the contract): the TX
 * binding's dmabuf cut into contiguous {@link Region}s in lease order, a region freed only when it is
 * done, reclaimed from the oldest on, and leases waiting first come first served.
 *
 * <p>Thread-safe: leases come from any thread, frees from the sender's I/O thread. A waiting lease
 * completes on the thread that freed the room (usually the I/O thread).
 */
public final class RegionRing {
    private final TxBinding binding;
    private final long capacity;
    private final MemorySegment view;

    // guarded by this
    private final ArrayDeque<Region> regions = new ArrayDeque<>();
    private final ArrayDeque<Waiter<?>> waiters = new ArrayDeque<>();
    private long tail;
    private long leasedBytes;
    private long leases;
    private long waits;
    private boolean closed;

    public RegionRing(TxBinding binding) {
        this.binding = binding;
        this.capacity = binding.dmabufSize();
        this.view = binding.hostView().orElse(null);
    }

    public long capacity() {
        return capacity;
    }

    public int bindingId() {
        return binding.id();
    }

    public boolean hostMappable() {
        return view != null;
    }

    public Optional<DevmemException> fallbackCause() {
        return binding.fallbackCause();
    }

    /** A region now, or {@code null} when there is no room (or leases are waiting). */
    public Region tryLease(long length) {
        check(length);
        synchronized (this) {
            if (closed) {
                throw new IllegalStateException("the TX buffer is closed: its send subscription ended");
            }
            return waiters.isEmpty() ? allocate(length) : null;
        }
    }

    /**
     * A region as soon as there is room, handed out through {@code face} (the public slice); errors when
     * the ring closes first. A lease cancelled after it got its region gives the region back.
     */
    public <S> Mono<S> lease(long length, Function<Region, S> face) {
        check(length);
        return Mono.create(sink -> {
            Region r;
            Waiter<S> w = null;
            synchronized (this) {
                if (closed) {
                    r = null;
                } else {
                    r = waiters.isEmpty() ? allocate(length) : null;
                    if (r == null) {
                        w = new Waiter<>(length, sink, face);
                        waiters.add(w);
                        waits++;
                    }
                }
            }
            if (r != null) {
                sink.success(face.apply(r));
            } else if (w == null) {
                sink.error(new IllegalStateException("the TX buffer is closed: its send subscription ended"));
            } else {
                Waiter<S> waiter = w;
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

    public synchronized long leasedBytes() {
        return leasedBytes;
    }

    public synchronized int outstandingSlices() {
        return regions.size();
    }

    public synchronized long leases() {
        return leases;
    }

    public synchronized long waits() {
        return waits;
    }

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
    private Region allocate(long length) {
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
        Region r = new Region(this, at, length);
        regions.addLast(r);
        tail = at + length;
        leasedBytes += length;
        leases++;
        return r;
    }

    /** A region is done: reclaim what can be, then serve waiting leases. */
    void free(Region region) {
        List<Object[]> grants = null;
        synchronized (this) {
            while (!regions.isEmpty() && regions.peekFirst().state() == Region.DONE) {
                leasedBytes -= regions.pollFirst().length();
            }
            while (!waiters.isEmpty() && !closed) {
                Waiter<?> w = waiters.peekFirst();
                Region r = allocate(w.length);
                if (r == null) {
                    break;
                }
                waiters.pollFirst();
                if (grants == null) {
                    grants = new ArrayList<>();
                }
                grants.add(new Object[]{w, r});
            }
        }
        if (grants != null) {
            for (Object[] g : grants) {
                ((Waiter<?>) g[0]).grant((Region) g[1]);
            }
        }
    }

    private void cancel(Waiter<?> w) {
        synchronized (this) {
            waiters.remove(w);
        }
        // a grant racing with this cancel sees it and gives the region back
        w.cancel();
    }

    /** The subscription ended: waiting leases fail; regions still out stay unusable. */
    public void close() {
        List<Waiter<?>> failed;
        synchronized (this) {
            closed = true;
            failed = new ArrayList<>(waiters);
            waiters.clear();
        }
        for (Waiter<?> w : failed) {
            w.cancel();
            w.sink.error(new IllegalStateException("the TX buffer closed: its send subscription ended"));
        }
    }

    /** As the public buffer prints: the sender's {@code toString} names it. */
    @Override
    public synchronized String toString() {
        return "TxBuffer[binding " + Integer.toUnsignedString(binding.id()) + ", " + capacity + " bytes, "
                + leasedBytes + " leased in " + regions.size() + " slices, " + waiters.size() + " waiting]";
    }

    private static final class Waiter<S> extends java.util.concurrent.atomic.AtomicInteger {
        private static final int WAITING = 0;
        private static final int GRANTED = 1;
        private static final int CANCELLED = 2;
        final long length;
        final MonoSink<S> sink;
        private final Function<Region, S> face;

        Waiter(long length, MonoSink<S> sink, Function<Region, S> face) {
            this.length = length;
            this.sink = sink;
            this.face = face;
        }

        void grant(Region r) {
            if (compareAndSet(WAITING, GRANTED)) {
                sink.success(face.apply(r));
            } else {
                r.release(); // nobody waits for it any more
            }
        }

        void cancel() {
            compareAndSet(WAITING, CANCELLED);
        }
    }
}
