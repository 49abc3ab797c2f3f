package dev.devmem.benchmarks;

import dev.devmem.api.DevmemException;
import dev.devmem.api.FragKind;
import dev.devmem.api.RxBindingSpec;
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

import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.locks.LockSupport;

/**
 * A backend whose socket "receives" instantly and whose releases cost a counter: what is left is
 * the cost of the reactor layer itself (loop, gates, frag objects, onNext, release path). Not a
 * devmem model; only for the benchmark's ceiling-of-the-Flux row.
 */
final class NullBackend implements DevmemBackend {

    @Override
    public String name() {
        return "null";
    }

    @Override
    public BackendAvailability availability() {
        return BackendAvailability.yes("null");
    }

    @Override
    public RxBinding bindRx(RxBindingSpec spec) {
        return new RxBinding() {
            private volatile boolean open = true;

            @Override
            public int id() {
                return 1;
            }

            @Override
            public String interfaceName() {
                return spec.interfaceName();
            }

            @Override
            public int ifindex() {
                return 1;
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
                return Optional.empty();
            }

            @Override
            public boolean isOpen() {
                return open;
            }

            @Override
            public void close() {
                open = false;
            }
        };
    }

    @Override
    public TxBinding bindTx(TxBindingSpec spec) throws DevmemException {
        throw new DevmemException("no tx");
    }

    @Override
    public DevmemListener listen(InetSocketAddress local, int backlog) throws DevmemException {
        throw new DevmemException("no listen");
    }

    @Override
    public DevmemSocket connect(InetSocketAddress remote) throws DevmemException {
        throw new DevmemException("no connect");
    }

    @Override
    public IoWaiter newIoWaiter() {
        return new IoWaiter() {
            private volatile Thread parked;
            private volatile boolean woken;

            @Override
            public void await(Pollable[] endpoints, int count, long timeoutNanos) {
                parked = Thread.currentThread();
                if (!woken) {
                    LockSupport.parkNanos(this, timeoutNanos < 0 ? 1_000_000L : timeoutNanos);
                }
                woken = false;
            }

            @Override
            public void wakeup() {
                woken = true;
                Thread t = parked;
                if (t != null) {
                    LockSupport.unpark(t);
                }
            }

            @Override
            public void close() {
            }
        };
    }

    /** Frags of 4 KiB at consecutive dmabuf offsets, token ids cycling through 1..65536. */
    static final class NullSocket implements DevmemSocket {
        private long position;
        private int nextToken = 1;
        private int outstanding;
        private long released;
        private volatile boolean closed;

        @Override
        public InetSocketAddress localAddress() {
            return null;
        }

        @Override
        public InetSocketAddress remoteAddress() {
            return null;
        }

        @Override
        public int receive(ReceiveBatch batch) {
            batch.clear();
            int n = batch.limit();
            for (int i = 0; i < n; i++) {
                int t = nextToken;
                nextToken = t == 65536 ? 1 : t + 1;
                batch.add(FragKind.DMABUF, 1, (long) (t - 1) << 12, 4096, position, t, null);
                position += 4096;
            }
            outstanding += n;
            return n;
        }

        @Override
        public void release(FragKind kind, int releaseKey) {
            outstanding--;
            released++;
        }

        @Override
        public int flushReleases() {
            return 0;
        }

        @Override
        public int outstanding() {
            return outstanding;
        }

        @Override
        public SocketStats stats() {
            return new SocketStats(0, new long[] {position, 0, 0}, new long[] {position >> 12, 0, 0}, outstanding, 0,
                    0, 0, 0);
        }

        @Override
        public void shutdownOutput() {
        }

        @Override
        public void close() {
            closed = true;
        }
    }
}
