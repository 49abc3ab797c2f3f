package dev.devmem.reactor;

import dev.devmem.api.DevmemException;
import dev.devmem.api.Errno;
import dev.devmem.api.FragKind;
import dev.devmem.api.RxBindingSpec;
import dev.devmem.api.SyscallException;
import dev.devmem.api.TxBindingSpec;
import dev.devmem.api.spi.BackendAvailability;
import dev.devmem.api.spi.DevmemBackend;
import dev.devmem.api.spi.DevmemListener;
import dev.devmem.api.spi.DevmemSocket;
import dev.devmem.api.spi.IoWaiter;
import dev.devmem.api.spi.Pollable;
import dev.devmem.api.spi.ReceiveBatch;
import dev.devmem.api.spi.RxBinding;
import dev.devmem.api.spi.SocketStats;
import dev.devmem.api.spi.TxBinding;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * An in-memory devmem backend for the reactor layer's unit tests, strict where the real ones are:
 * kernel-like token ids (lowest free, reused), a buffer pool per binding that stops receiving when
 * empty, DONTNEED with the kernel's per-call limits (128 ranges, 1024 frags), unknown keys ignored and
 * counted, and a check that every socket call comes from one thread. Data is a deterministic
 * pattern of the stream position ({@link #pattern}), so tests validate every byte.
 */
final class FakeBackend implements DevmemBackend {
    static final int MAX_RANGES = 128;
    static final int MAX_FRAGS = 1024;

    final Object lock = new Object();
    final int fragSize;
    private final AtomicInteger nextBindingId = new AtomicInteger();
    private final AtomicInteger nextPort = new AtomicInteger(40000);
    final List<FakeBinding> bindings = new CopyOnWriteArrayList<>();
    final List<FakeSocket> sockets = new CopyOnWriteArrayList<>();
    final List<FakeListener> listeners = new CopyOnWriteArrayList<>();
    final List<FakeWaiter> waiters = new CopyOnWriteArrayList<>();
    final Map<Integer, FakeListener> byPort = new ConcurrentHashMap<>();
    final AtomicReference<String> violation = new AtomicReference<>();
    /** Every LINEAR_EVERY-th frag is LINEAR (a failed header split) when > 0. */
    volatile int linearEvery;
    volatile DevmemException failBind;
    volatile CountDownLatch bindGate;
    final AtomicInteger bindCalls = new AtomicInteger();
    /** What happened, in order: bind, unbind, listen, listener-close, connect, socket-close. */
    final List<String> events = new CopyOnWriteArrayList<>();

    FakeBackend(int fragSize) {
        this.fragSize = fragSize;
    }

    FakeBackend() {
        this(4096);
    }

    /** The byte at stream position {@code pos}. */
    static byte pattern(long pos) {
        return (byte) (1 + (pos % 251));
    }

    void violation(String what) {
        violation.compareAndSet(null, what);
    }

    @Override
    public String name() {
        return "fake";
    }

    @Override
    public BackendAvailability availability() {
        return BackendAvailability.yes("in-memory fake");
    }

    @Override
    public RxBinding bindRx(RxBindingSpec spec) throws DevmemException {
        bindCalls.incrementAndGet();
        CountDownLatch gate = bindGate;
        if (gate != null) {
            try {
                gate.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (failBind != null) {
            throw failBind;
        }
        FakeBinding b = new FakeBinding(nextBindingId.incrementAndGet(), spec, this);
        bindings.add(b);
        events.add("bind");
        return b;
    }

    @Override
    public TxBinding bindTx(TxBindingSpec spec) throws DevmemException {
        throw new SyscallException("bind-tx", Errno.EOPNOTSUPP);
    }

    @Override
    public DevmemListener listen(InetSocketAddress local, int backlog) {
        InetSocketAddress addr = local.getPort() == 0 ? new InetSocketAddress(local.getAddress(), nextPort.incrementAndGet()) : local;
        FakeListener l = new FakeListener(this, addr);
        listeners.add(l);
        events.add("listen");
        byPort.put(addr.getPort(), l);
        return l;
    }

    @Override
    public DevmemSocket connect(InetSocketAddress remote) throws DevmemException {
        FakeSocket s = new FakeSocket(this, currentBinding(), new InetSocketAddress("127.0.0.1", nextPort.incrementAndGet()), remote);
        sockets.add(s);
        events.add("connect");
        return s;
    }

    private FakeBinding currentBinding() {
        for (int i = bindings.size() - 1; i >= 0; i--) {
            if (bindings.get(i).isOpen()) {
                return bindings.get(i);
            }
        }
        return null;
    }

    /** A peer connects to the listener on {@code port}; returns the server-side socket (not yet accepted). */
    FakeSocket peerConnect(int port) {
        FakeListener l = byPort.get(port);
        if (l == null) {
            throw new IllegalStateException("nothing listens on " + port);
        }
        FakeSocket s = new FakeSocket(this, currentBinding(), l.local,
                new InetSocketAddress("127.0.0.1", nextPort.incrementAndGet()));
        sockets.add(s);
        synchronized (lock) {
            l.pending.add(s);
            lock.notifyAll();
        }
        return s;
    }

    @Override
    public IoWaiter newIoWaiter() {
        FakeWaiter w = new FakeWaiter(this);
        waiters.add(w);
        return w;
    }

    long openBindings() {
        return bindings.stream().filter(FakeBinding::isOpen).count();
    }

    long openSockets() {
        return sockets.stream().filter(s -> !s.closed).count();
    }

    long openListeners() {
        return listeners.stream().filter(l -> !l.closed).count();
    }

    long openWaiters() {
        return waiters.stream().filter(w -> !w.closed).count();
    }

    // ------------------------------------------------------------------ binding

    static final class FakeBinding implements RxBinding {
        final int id;
        final RxBindingSpec spec;
        final FakeBackend backend;
        final Arena arena = Arena.ofShared();
        final MemorySegment memory;
        final BitSet usedBuffers = new BitSet();
        final int buffers;
        volatile boolean open = true;

        FakeBinding(int id, RxBindingSpec spec, FakeBackend backend) {
            this.id = id;
            this.spec = spec;
            this.backend = backend;
            long size = spec.dmabuf().size();
            this.memory = arena.allocate(size, 4096);
            this.buffers = (int) (size / backend.fragSize);
        }

        /** Under the backend lock: a free buffer index, or -1. */
        int takeBuffer() {
            int b = usedBuffers.nextClearBit(0);
            if (b >= buffers) {
                return -1;
            }
            usedBuffers.set(b);
            return b;
        }

        @Override
        public int id() {
            return id;
        }

        @Override
        public String interfaceName() {
            return spec.interfaceName();
        }

        @Override
        public int ifindex() {
            return 7;
        }

        @Override
        public List<Integer> rxQueues() {
            return spec.rxQueues();
        }

        @Override
        public long dmabufSize() {
            return spec.dmabuf().size();
        }

        @Override
        public Optional<MemorySegment> hostView() {
            return Optional.of(memory.asReadOnly());
        }

        @Override
        public boolean isOpen() {
            return open;
        }

        @Override
        public void close() {
            if (open) {
                open = false;
                backend.events.add("unbind");
            }
        }
    }

    // ------------------------------------------------------------------ listener

    static final class FakeListener implements DevmemListener {
        final FakeBackend backend;
        final InetSocketAddress local;
        final ArrayDeque<FakeSocket> pending = new ArrayDeque<>();
        volatile boolean closed;

        FakeListener(FakeBackend backend, InetSocketAddress local) {
            this.backend = backend;
            this.local = local;
        }

        @Override
        public InetSocketAddress localAddress() {
            return local;
        }

        @Override
        public DevmemSocket accept() throws DevmemException {
            synchronized (backend.lock) {
                if (closed) {
                    throw new SyscallException("accept", Errno.EBADF);
                }
                return pending.poll();
            }
        }

        boolean ready() {
            return closed || !pending.isEmpty();
        }

        @Override
        public void close() {
            synchronized (backend.lock) {
                if (!closed) {
                    backend.events.add("listener-close");
                }
                closed = true;
                for (FakeSocket s : pending) {
                    s.close();
                }
                pending.clear();
            }
        }
    }

    // ------------------------------------------------------------------ socket

    static final class FakeSocket implements DevmemSocket {
        final FakeBackend backend;
        final FakeBinding binding;
        final InetSocketAddress local;
        final InetSocketAddress remote;
        final Arena hostArena = Arena.ofShared();
        final MemorySegment hostSlab;
        final int hostSlices;
        final BitSet hostUsed = new BitSet();
        // token -> buffer index (DMABUF) ; host key -> slice
        final Map<Integer, Integer> tokens = new java.util.HashMap<>();
        final BitSet tokenIds = new BitSet();
        final BitSet hostKeys = new BitSet();
        final List<Integer> pendingTokens = new ArrayList<>();
        volatile Thread owner;
        long available;
        long streamPos;
        boolean eof;
        DevmemException failNext;
        volatile boolean closed;
        final AtomicInteger closeCalls = new AtomicInteger();
        long recvCalls;
        final long[] bytesByKind = new long[3];
        final long[] fragsByKind = new long[3];
        long dontneedCalls;
        long tokensReturned;
        long unknownReleases;
        final AtomicLong maxKernelHeld = new AtomicLong();
        final AtomicLong maxHeld = new AtomicLong();
        long fragCounter;
        final List<Integer> dontneedSizes = new ArrayList<>();

        FakeSocket(FakeBackend backend, FakeBinding binding, InetSocketAddress local, InetSocketAddress remote) {
            this.backend = backend;
            this.binding = binding;
            this.local = local;
            this.remote = remote;
            this.hostSlices = 4096;
            this.hostSlab = hostArena.allocate((long) hostSlices * backend.fragSize, 64);
        }

        private void own(String op) {
            Thread t = Thread.currentThread();
            Thread o = owner;
            if (o == null) {
                owner = t;
            } else if (o != t) {
                backend.violation(op + " on " + t.getName() + " but the socket belongs to " + o.getName());
            }
        }

        // --- peer side ---

        /** The peer sends {@code n} more pattern bytes. */
        void send(long n) {
            synchronized (backend.lock) {
                available += n;
                backend.lock.notifyAll();
            }
        }

        /** The peer shuts down its side: after the data, END_OF_STREAM. */
        void shutdownPeer() {
            synchronized (backend.lock) {
                eof = true;
                backend.lock.notifyAll();
            }
        }

        /** The next receive fails with {@code e} (e.g. ECONNRESET). */
        void failNextReceive(DevmemException e) {
            synchronized (backend.lock) {
                failNext = e;
                backend.lock.notifyAll();
            }
        }

        boolean ready() {
            if (closed || eof || failNext != null) {
                return true;
            }
            if (available == 0) {
                return false;
            }
            boolean dmabuf = binding != null && binding.isOpen();
            return dmabuf ? binding.usedBuffers.nextClearBit(0) < binding.buffers : hostUsed.nextClearBit(0) < hostSlices;
        }

        int held() {
            return tokens.size() + hostKeys.cardinality();
        }

        // --- DevmemSocket ---

        @Override
        public InetSocketAddress localAddress() {
            return local;
        }

        @Override
        public InetSocketAddress remoteAddress() {
            return remote;
        }

        @Override
        public int receive(ReceiveBatch batch) throws DevmemException {
            own("receive");
            synchronized (backend.lock) {
                batch.clear();
                if (closed) {
                    throw new SyscallException("recvmsg", Errno.EBADF);
                }
                if (failNext != null) {
                    DevmemException e = failNext;
                    failNext = null;
                    throw e;
                }
                int n = 0;
                boolean dmabuf = binding != null && binding.isOpen();
                while (n < batch.limit() && available > 0) {
                    int len = (int) Math.min(backend.fragSize, available);
                    boolean linear = backend.linearEvery > 0 && fragCounter % backend.linearEvery == backend.linearEvery - 1;
                    if (dmabuf && !linear) {
                        int buf = binding.takeBuffer();
                        if (buf < 0) {
                            break;
                        }
                        int token = tokenIds.nextClearBit(1);
                        tokenIds.set(token);
                        tokens.put(token, buf);
                        long off = (long) buf * backend.fragSize;
                        fill(binding.memory, off, len);
                        batch.add(FragKind.DMABUF, binding.id, off, len, streamPos, token, binding.memory);
                        count(FragKind.DMABUF, len);
                    } else {
                        int slice = hostUsed.nextClearBit(0);
                        if (slice >= hostSlices) {
                            break;
                        }
                        hostUsed.set(slice);
                        hostKeys.set(slice);
                        long off = (long) slice * backend.fragSize;
                        fill(hostSlab, off, len);
                        FragKind k = dmabuf ? FragKind.LINEAR : FragKind.HOST;
                        batch.add(k, 0, off, len, streamPos, slice, hostSlab);
                        count(k, len);
                    }
                    fragCounter++;
                    streamPos += len;
                    available -= len;
                    n++;
                }
                if (n > 0) {
                    recvCalls++;
                    maxHeld.accumulateAndGet(held(), Math::max);
                    maxKernelHeld.accumulateAndGet(held() + pendingTokens.size(), Math::max);
                    return n;
                }
                return available == 0 && eof ? END_OF_STREAM : 0;
            }
        }

        private void fill(MemorySegment m, long off, int len) {
            long p = streamPos;
            for (int i = 0; i < len; i++) {
                m.set(ValueLayout.JAVA_BYTE, off + i, pattern(p + i));
            }
        }

        private void count(FragKind k, int len) {
            fragsByKind[k.ordinal()]++;
            bytesByKind[k.ordinal()] += len;
        }

        @Override
        public void release(FragKind kind, int key) throws DevmemException {
            own("release");
            synchronized (backend.lock) {
                if (closed) {
                    backend.violation("release after close");
                    return;
                }
                if (kind == FragKind.DMABUF) {
                    if (!tokens.containsKey(key)) {
                        unknownReleases++;
                        return;
                    }
                    pendingTokens.add(key);
                    Integer buf = tokens.remove(key);
                    pendingBuffers.add(buf);
                    if (pendingTokens.size() >= MAX_FRAGS || ranges(sortedPending()) >= MAX_RANGES) {
                        flushLocked();
                    }
                } else {
                    if (!hostKeys.get(key)) {
                        unknownReleases++;
                        return;
                    }
                    hostKeys.clear(key);
                    hostUsed.clear(key);
                    backend.lock.notifyAll();
                }
            }
        }

        final List<Integer> pendingBuffers = new ArrayList<>();

        private List<Integer> sortedPending() {
            List<Integer> s = new ArrayList<>(pendingTokens);
            s.sort(null);
            return s;
        }

        private static int ranges(List<Integer> sorted) {
            int r = 0;
            for (int i = 0; i < sorted.size(); i++) {
                if (i == 0 || sorted.get(i) != sorted.get(i - 1) + 1) {
                    r++;
                }
            }
            return r;
        }

        @Override
        public int flushReleases() throws DevmemException {
            own("flushReleases");
            synchronized (backend.lock) {
                return flushLocked();
            }
        }

        private int flushLocked() {
            if (pendingTokens.isEmpty()) {
                return 0;
            }
            List<Integer> sorted = sortedPending();
            // one call: up to 128 ranges and 1024 frags
            int calls = 0;
            int i = 0;
            while (i < sorted.size()) {
                int ranges = 0;
                int frags = 0;
                int start = i;
                while (i < sorted.size() && frags < MAX_FRAGS) {
                    boolean newRange = i == start || sorted.get(i) != sorted.get(i - 1) + 1;
                    if (newRange && ranges == MAX_RANGES) {
                        break;
                    }
                    if (newRange) {
                        ranges++;
                    }
                    frags++;
                    i++;
                }
                calls++;
                dontneedSizes.add(frags);
                tokensReturned += frags;
                for (int j = start; j < i; j++) {
                    tokenIds.clear(sorted.get(j));
                }
            }
            for (int b : pendingBuffers) {
                binding.usedBuffers.clear(b);
            }
            pendingBuffers.clear();
            pendingTokens.clear();
            dontneedCalls += calls;
            backend.lock.notifyAll();
            return calls;
        }

        /** Every buffer this socket could fill is taken (queued releases hold theirs until DONTNEED). */
        @Override
        public boolean awaitsReleases() {
            synchronized (backend.lock) {
                if (closed) {
                    return false;
                }
                boolean dmabuf = binding != null && binding.isOpen();
                return dmabuf ? binding.usedBuffers.nextClearBit(0) >= binding.buffers
                        : hostUsed.nextClearBit(0) >= hostSlices;
            }
        }

        @Override
        public int outstanding() {
            synchronized (backend.lock) {
                return held();
            }
        }

        @Override
        public SocketStats stats() {
            synchronized (backend.lock) {
                return new SocketStats(recvCalls, bytesByKind, fragsByKind, tokens.size(), hostKeys.cardinality(),
                        dontneedCalls, tokensReturned, unknownReleases);
            }
        }

        long dontneedCalls() {
            synchronized (backend.lock) {
                return dontneedCalls;
            }
        }

        @Override
        public void shutdownOutput() {
        }

        @Override
        public void close() {
            closeCalls.incrementAndGet();
            synchronized (backend.lock) {
                if (closed) {
                    return;
                }
                closed = true;
                backend.events.add("socket-close");
                if (binding != null) {
                    for (int b : tokens.values()) {
                        binding.usedBuffers.clear(b);
                    }
                    for (int b : pendingBuffers) {
                        binding.usedBuffers.clear(b);
                    }
                }
                tokens.clear();
                pendingTokens.clear();
                pendingBuffers.clear();
                hostKeys.clear();
                hostUsed.clear();
                backend.lock.notifyAll();
            }
        }
    }

    // ------------------------------------------------------------------ waiter

    static final class FakeWaiter implements IoWaiter {
        final FakeBackend backend;
        boolean woken;
        boolean waiting;
        volatile boolean closed;
        final AtomicLong wakeups = new AtomicLong();
        final AtomicLong awaits = new AtomicLong();

        FakeWaiter(FakeBackend backend) {
            this.backend = backend;
        }

        @Override
        public void await(Pollable[] endpoints, int count, long timeoutNanos) throws DevmemException {
            if (closed) {
                backend.violation("await on a closed waiter");
            }
            awaits.incrementAndGet();
            long deadline = timeoutNanos < 0 ? Long.MAX_VALUE : System.nanoTime() + timeoutNanos;
            synchronized (backend.lock) {
                try {
                    awaitLocked(endpoints, count, deadline);
                } finally {
                    waiting = false;
                }
            }
        }

        /** Parked with no wake-up pending: the loop has done everything it could. */
        boolean idle() {
            synchronized (backend.lock) {
                return closed || waiting && !woken;
            }
        }

        private void awaitLocked(Pollable[] endpoints, int count, long deadline) {
                while (true) {
                    if (woken) {
                        woken = false;
                        return;
                    }
                    for (int i = 0; i < count; i++) {
                        Pollable p = endpoints[i];
                        if (p instanceof FakeSocket s && s.ready() || p instanceof FakeListener l && l.ready()) {
                            return;
                        }
                    }
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        return;
                    }
                    try {
                        waiting = true;
                        backend.lock.wait(Math.max(1, Math.min(left / 1_000_000, 1000)));
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return;
                    }
                }
        }

        @Override
        public void wakeup() {
            if (closed) {
                backend.violation("wakeup on a closed waiter");
            }
            wakeups.incrementAndGet();
            synchronized (backend.lock) {
                woken = true;
                backend.lock.notifyAll();
            }
        }

        @Override
        public void close() {
            closed = true;
        }
    }
}
