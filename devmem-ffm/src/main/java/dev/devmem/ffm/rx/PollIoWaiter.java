package dev.devmem.ffm.rx;

import dev.devmem.api.DevmemException;
import dev.devmem.api.Errno;
import dev.devmem.api.SyscallException;
import dev.devmem.api.spi.IoWaiter;
import dev.devmem.api.spi.Pollable;
import dev.devmem.ffm.sys.LinuxConstants;
import dev.devmem.ffm.sys.Structs;
import dev.devmem.ffm.sys.Syscalls;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Parks an I/O thread in {@code poll(2)} over its sockets' and listeners' fds plus one eventfd that
 * {@link #wakeup()} writes.
 *
 * <p>Why an eventfd: demand, releases and cancellation arrive from other threads and must end a
 * wait promptly even when the peer is silent. The eventfd's counter remembers a wake-up that comes
 * before {@link #await}, so none is lost; {@code await} drains it. {@link #wakeup()} is one
 * non-blocking {@code write(2)} and safe from any thread, also concurrently with {@link #close()}
 * (it never writes to an fd number that may have been reused).
 *
 * <p>A {@link PollSource} whose {@link PollSource#pollFd()} is {@code -1} (a socket waiting for a
 * release, an emulated NIC out of buffers) takes part with a negative fd, which poll ignores: only a
 * wake-up or the timeout ends that wait. The pollfd array is native memory of this waiter, grown
 * only when more endpoints are passed than ever before. One waiter per I/O thread.
 */
public final class PollIoWaiter implements IoWaiter {
    private static final long POLLFD_SIZE = Structs.POLLFD.byteSize();
    private static final int EINTR = Errno.EINTR.number();
    /** Bit 31 of {@link #state}: closed. Lower bits: wake-ups in progress. */
    private static final int CLOSED = 1 << 31;

    private final int eventFd;
    private final Arena arena;
    private final MemorySegment one;
    private final MemorySegment drain;
    private final AtomicInteger state = new AtomicInteger();
    private Arena pollArena;
    private MemorySegment pollFds;
    private int pollCapacity;

    public PollIoWaiter() throws SyscallException {
        int fd = Syscalls.check(Syscalls.eventfd(0, LinuxConstants.EFD_CLOEXEC | LinuxConstants.EFD_NONBLOCK),
                "eventfd");
        this.eventFd = fd;
        this.arena = Arena.ofShared();
        this.one = arena.allocate(ValueLayout.JAVA_LONG);
        one.set(ValueLayout.JAVA_LONG, 0, 1L);
        this.drain = arena.allocate(ValueLayout.JAVA_LONG);
        ensureCapacity(16);
    }

    @Override
    public void await(Pollable[] endpoints, int count, long timeoutNanos) throws DevmemException {
        awaitReady(endpoints, count, timeoutNanos);
    }

    /**
     * {@link #await}, returning what {@code poll(2)} returned: the number of ready fds (the eventfd
     * counts when a wake-up was pending), {@code 0} on timeout or when interrupted by a signal.
     */
    public int awaitReady(Pollable[] endpoints, int count, long timeoutNanos) throws DevmemException {
        if (count < 0 || count > endpoints.length) {
            throw new IllegalArgumentException("count " + count + " of " + endpoints.length + " endpoints");
        }
        if ((state.get() & CLOSED) != 0) {
            throw new SyscallException("poll", Errno.EBADF, "the waiter is closed");
        }
        ensureCapacity(count + 1);
        MemorySegment fds = pollFds;
        setPollFd(fds, 0, eventFd, LinuxConstants.POLLIN);
        for (int i = 0; i < count; i++) {
            if (!(endpoints[i].pollTarget() instanceof PollSource source)) {
                throw new IllegalArgumentException("not an FFM endpoint: " + endpoints[i]);
            }
            setPollFd(fds, i + 1, source.pollFd(), source.pollEvents());
        }
        int r = Syscalls.poll(fds, count + 1, timeoutMillisOf(timeoutNanos));
        if (r == -EINTR) {
            return 0; // a spurious return is allowed; the caller re-checks its state
        }
        if (r < 0) {
            throw new SyscallException("poll", Errno.of(-r));
        }
        if (r > 0 && fds.get(ValueLayout.JAVA_SHORT, Structs.POLLFD_REVENTS) != 0) {
            // Non-blocking eventfd: one read resets the counter; EAGAIN means another await drained it.
            Syscalls.read(eventFd, drain, 8);
        }
        return r;
    }

    private static void setPollFd(MemorySegment fds, int i, int fd, short events) {
        long at = i * POLLFD_SIZE;
        fds.set(ValueLayout.JAVA_INT, at + Structs.POLLFD_FD, fd);
        fds.set(ValueLayout.JAVA_SHORT, at + Structs.POLLFD_EVENTS, events);
        fds.set(ValueLayout.JAVA_SHORT, at + Structs.POLLFD_REVENTS, (short) 0);
    }

    /** Rounds up, so a short timeout never turns into a busy spin of zero-millisecond polls. */
    public static int timeoutMillisOf(long timeoutNanos) {
        if (timeoutNanos < 0) {
            return -1;
        }
        long ms = timeoutNanos / 1_000_000L + (timeoutNanos % 1_000_000L == 0 ? 0 : 1);
        return (int) Math.min(ms, Integer.MAX_VALUE);
    }

    private void ensureCapacity(int n) {
        if (n <= pollCapacity) {
            return;
        }
        int cap = Math.max(n, pollCapacity * 2);
        // Shared: the waiter is made on one thread and awaits on the I/O thread.
        Arena next = Arena.ofShared();
        MemorySegment seg = next.allocate(POLLFD_SIZE * cap, 8);
        if (pollArena != null) {
            pollArena.close();
        }
        pollArena = next;
        pollFds = seg;
        pollCapacity = cap;
    }

    @Override
    public void wakeup() {
        if ((state.getAndIncrement() & CLOSED) == 0) {
            // EAGAIN only when the counter is saturated, i.e. a wake-up is pending anyway.
            Syscalls.write(eventFd, one, 8);
        }
        state.getAndDecrement();
    }

    /**
     * Closes the eventfd and frees the native memory. Waits for wake-ups already writing (a few
     * microseconds at most) so that none writes to a closed, possibly reused fd.
     */
    @Override
    public void close() {
        int s;
        do {
            s = state.get();
            if ((s & CLOSED) != 0) {
                return;
            }
        } while (!state.compareAndSet(s, s | CLOSED));
        while ((state.get() & ~CLOSED) != 0) {
            Thread.onSpinWait();
        }
        Syscalls.closeQuietly(eventFd);
        arena.close();
        pollArena.close();
    }
}
