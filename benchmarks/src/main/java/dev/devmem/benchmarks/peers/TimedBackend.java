package dev.devmem.benchmarks.peers;

import dev.devmem.api.DevmemException;
import dev.devmem.api.FragKind;
import dev.devmem.api.spi.DevmemBackend;
import dev.devmem.api.spi.ForwardingBackend;
import dev.devmem.api.spi.DevmemListener;
import dev.devmem.api.spi.DevmemSocket;
import dev.devmem.api.spi.ReceiveBatch;
import dev.devmem.api.spi.SocketStats;
import dev.devmem.ffm.rx.PollSource;
import org.HdrHistogram.Histogram;

import java.net.InetSocketAddress;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A backend that forwards to another and times, per DMABUF frag, from the consumer's
 * {@code release()} (stamped by the consumer in {@link #releasedAt}, keyed by stream position) to
 * the {@code SO_DEVMEM_DONTNEED} call that returned its token: the socket's DONTNEED count goes up
 * inside {@code release} (a full batch) or {@code flushReleases}, and every token queued before
 * then went back in that call. Benchmark code only.
 */
final class TimedBackend extends ForwardingBackend {
    final ConcurrentHashMap<Long, Long> releasedAt = new ConcurrentHashMap<>();
    final Histogram latency = new Histogram(60_000_000_000L, 3);

    TimedBackend(DevmemBackend delegate) {
        super(delegate);
    }

    @Override
    public DevmemListener listen(InetSocketAddress local, int backlog) throws DevmemException {
        DevmemListener l = delegate().listen(local, backlog);
        return new Listener(l);
    }

    @Override
    public DevmemSocket connect(InetSocketAddress remote) throws DevmemException {
        return new Timed(delegate().connect(remote));
    }

    private final class Listener implements DevmemListener, PollSource {
        private final DevmemListener l;

        Listener(DevmemListener l) {
            this.l = l;
        }

        @Override
        public InetSocketAddress localAddress() {
            return l.localAddress();
        }

        @Override
        public DevmemSocket accept() throws DevmemException {
            DevmemSocket s = l.accept();
            return s == null ? null : new Timed(s);
        }

        @Override
        public void close() {
            l.close();
        }

        @Override
        public int pollFd() {
            return ((PollSource) l).pollFd();
        }

        @Override
        public short pollEvents() {
            return ((PollSource) l).pollEvents();
        }
    }

    private final class Timed implements DevmemSocket, PollSource {
        private final DevmemSocket s;
        private final Map<Integer, Long> positionOfToken = new HashMap<>();
        private long[] pending = new long[4096];
        private int pendingCount;

        Timed(DevmemSocket s) {
            this.s = s;
        }

        @Override
        public int receive(ReceiveBatch batch) throws DevmemException {
            int n = s.receive(batch);
            for (int i = 0; i < n; i++) {
                if (batch.kind(i) == FragKind.DMABUF) {
                    positionOfToken.put(batch.releaseKey(i), batch.streamPosition(i));
                }
            }
            return n;
        }

        @Override
        public void release(FragKind kind, int releaseKey) throws DevmemException {
            if (kind == FragKind.DMABUF) {
                Long pos = positionOfToken.remove(releaseKey);
                if (pos != null) {
                    if (pendingCount == pending.length) {
                        pending = java.util.Arrays.copyOf(pending, pendingCount * 2);
                    }
                    pending[pendingCount++] = pos;
                }
            }
            long before = s.stats().dontneedCalls();
            s.release(kind, releaseKey);
            if (s.stats().dontneedCalls() != before) {
                returned(System.nanoTime());
            }
        }

        @Override
        public int flushReleases() throws DevmemException {
            long before = s.stats().dontneedCalls();
            int r = s.flushReleases();
            if (s.stats().dontneedCalls() != before) {
                returned(System.nanoTime());
            }
            return r;
        }

        private void returned(long now) {
            for (int i = 0; i < pendingCount; i++) {
                Long t0 = releasedAt.remove(pending[i]);
                if (t0 != null) {
                    latency.recordValue(Math.max(0, now - t0));
                }
            }
            pendingCount = 0;
        }

        @Override
        public InetSocketAddress localAddress() {
            return s.localAddress();
        }

        @Override
        public InetSocketAddress remoteAddress() {
            return s.remoteAddress();
        }

        @Override
        public boolean awaitsReleases() {
            return s.awaitsReleases();
        }

        @Override
        public int outstanding() {
            return s.outstanding();
        }

        @Override
        public SocketStats stats() {
            return s.stats();
        }

        @Override
        public void shutdownOutput() throws DevmemException {
            s.shutdownOutput();
        }

        @Override
        public void close() {
            s.close();
        }

        @Override
        public int pollFd() {
            return ((PollSource) s).pollFd();
        }

        @Override
        public short pollEvents() {
            return ((PollSource) s).pollEvents();
        }
    }
}
