package dev.devmem.benchmarks;

import dev.devmem.api.DevmemFrag;
import dev.devmem.api.DmabufSource;
import dev.devmem.api.spi.DevmemSocket;
import dev.devmem.api.spi.ReceiveBatch;
import dev.devmem.ffm.emulated.EmulatedBackend;
import dev.devmem.ffm.emulated.EmulatedNicConfig;
import dev.devmem.ffm.emulated.SyntheticStream;
import dev.devmem.ffm.RxSocketOptions;
import dev.devmem.reactor.ConnectionStats;
import dev.devmem.reactor.DevmemConnection;
import dev.devmem.api.DevmemFragBatch;
import dev.devmem.reactor.DevmemReceiver;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.reactivestreams.Subscription;
import reactor.core.CoreSubscriber;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * The pipeline's ceiling: the emulated NIC's synthetic socket (no TCP, no byte copies; the same
 * recvmsg/cmsg/token/DONTNEED engine as the kernel path) through the receive Flux to a consumer
 * that releases every frag at once.
 *
 * <p>One operation is one frag. Shapes, side by side in one run:
 * <ul>
 * <li>{@code engine}: the backend socket driven directly on the benchmark thread (receive, release),
 *     no Reactor: the ceiling of the layer below;</li>
 * <li>{@code flux}: {@code Flux<DevmemFrag>}, one object per frag, consumer on the I/O loop thread;</li>
 * <li>{@code fluxHeld}: the same, but the consumer publishes each frag (to a volatile field, as a
 *     consumer that hands it on would) before releasing it, so the frag object escapes: with
 *     {@code flux}, whose consumer only releases, the JIT may scalar-replace the frag and allocate
 *     nothing;</li>
 * <li>{@code batches}: {@code Flux<DevmemFragBatch>}, one object per recvmsg, released per frag.</li>
 * </ul>
 * The Reactor shapes run the frags on the {@code devmem-io-1} loop thread while the benchmark
 * thread waits (parked) for each operation's frags: frags/s is what that one loop core sustains.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-XX:+UseParallelGC", "-Xmx1g"})
public class ReceivePipelineBenchmark {
    static final int FRAGS_PER_OP = 1 << 16;

    @Param({"engine", "flux", "fluxHeld", "batches"})
    public String shape;

    /** {@code emulated}: the emulated NIC's synthetic socket; {@code null}: a socket that costs nothing. */
    @Param({"emulated", "null"})
    public String source;

    @Param({"1024"})
    public int batchSize;

    private EmulatedBackend backend;
    private DevmemConnection connection;
    private Sink sink;
    // engine shape
    private dev.devmem.api.spi.RxBinding binding;
    private DevmemSocket socket;
    private ReceiveBatch batch;

    @Setup(Level.Trial)
    public void setup() throws Exception {
        if (source.equals("null")) {
            setupNull();
            return;
        }
        EmulatedNicConfig config = EmulatedNicConfig.defaults().withRxQueues(1);
        // Slabs of 4 MiB: one recvmsg may return batchSize 4 KiB frags (the iov length caps a call).
        RxSocketOptions options = RxSocketOptions.defaults().withHostSlabs(2, 4 << 20).withMaxBatch(batchSize);
        backend = EmulatedBackend.create(config, options);
        DmabufSource dmabuf = DmabufSource.emulated(64L << 20);
        if (shape.equals("engine")) {
            binding = backend.bindRx(new dev.devmem.api.RxBindingSpec(config.interfaceName(), java.util.List.of(0), dmabuf));
            socket = backend.synthetic(0, SyntheticStream.endless());
            batch = new ReceiveBatch(batchSize);
            return;
        }
        DevmemReceiver receiver = DevmemReceiver.create(backend).interfaceName(config.interfaceName()).rxQueues(0)
                .dmabuf(dmabuf).batchSize(batchSize);
        connection = receiver.open(() -> backend.synthetic(0, SyntheticStream.endless()))
                .block(Duration.ofSeconds(30));
        sink = new Sink();
        if (shape.startsWith("flux")) {
            connection.receive().subscribe(sink.frags(shape.equals("fluxHeld")));
        } else {
            connection.receiveBatches().subscribe(sink.batches());
        }
    }

    private void setupNull() throws Exception {
        if (shape.equals("engine")) {
            socket = new NullBackend.NullSocket();
            batch = new ReceiveBatch(batchSize);
            return;
        }
        DevmemReceiver receiver = DevmemReceiver.create(new NullBackend()).interfaceName("null0").rxQueues(0)
                .dmabuf(DmabufSource.emulated(64L << 20)).batchSize(batchSize);
        connection = receiver.open(NullBackend.NullSocket::new).block(Duration.ofSeconds(30));
        sink = new Sink();
        if (shape.startsWith("flux")) {
            connection.receive().subscribe(sink.frags(shape.equals("fluxHeld")));
        } else {
            connection.receiveBatches().subscribe(sink.batches());
        }
    }

    @Benchmark
    @OperationsPerInvocation(FRAGS_PER_OP)
    public long frags() throws Exception {
        if (socket != null) {
            return engine();
        }
        return sink.await(FRAGS_PER_OP);
    }

    private long engine() throws Exception {
        long n = 0;
        while (n < FRAGS_PER_OP) {
            batch.limit((int) Math.min(batch.capacity(), FRAGS_PER_OP - n));
            int got = socket.receive(batch);
            for (int i = 0; i < got; i++) {
                socket.release(batch.kind(i), batch.releaseKey(i));
            }
            n += got;
        }
        return n;
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        long calls;
        long bytes;
        if (socket != null) {
            socket.flushReleases();
            var st = socket.stats();
            calls = st.dontneedCalls();
            bytes = java.util.Arrays.stream(st.bytesByKind()).sum();
            socket.close();
            if (binding != null) {
                binding.close();
            }
        } else {
            ConnectionStats st = connection.stats();
            calls = st.dontneedCalls();
            bytes = st.bytesReceived();
            connection.dispose();
            connection.onClose().block(Duration.ofSeconds(30));
        }
        System.out.printf("%n[%s/%s] %d frags, %.2f GiB, %d DONTNEED calls = %.1f per GiB (kernel minimum %.1f)%n",
                source, shape, bytes / 4096, bytes / (double) (1L << 30), calls, calls / (bytes / (double) (1L << 30)),
                (1L << 30) / 4096 / 1024.0);
        if (backend != null) {
            backend.close();
        }
    }

    /** Counts and releases on the loop thread; the benchmark thread parks until its frags came. */
    static final class Sink {
        private static final VarHandle COUNT;
        private static final VarHandle LAST;

        static {
            try {
                COUNT = MethodHandles.lookup().findVarHandle(Sink.class, "count", long.class);
                LAST = MethodHandles.lookup().findVarHandle(Sink.class, "last", DevmemFrag.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        private volatile long count;
        private volatile long target = Long.MAX_VALUE;
        private volatile Thread waiter;

        long await(long n) {
            waiter = Thread.currentThread();
            long t = count + n;
            target = t;
            while (count < t) {
                LockSupport.parkNanos(this, 1_000_000L);
            }
            return t;
        }

        private void add(long n) {
            long c = (long) COUNT.getOpaque(this) + n;
            COUNT.setRelease(this, c);
            if (c >= target) {
                target = Long.MAX_VALUE;
                LockSupport.unpark(waiter);
            }
        }

        /** The last frag a {@code fluxHeld} consumer saw (an opaque store: no fence, but it escapes). */
        @SuppressWarnings("unused")
        private DevmemFrag last;

        CoreSubscriber<DevmemFrag> frags(boolean hold) {
            return new CoreSubscriber<>() {
                @Override
                public void onSubscribe(Subscription s) {
                    s.request(Long.MAX_VALUE);
                }

                @Override
                public void onNext(DevmemFrag f) {
                    if (hold) {
                        LAST.setOpaque(Sink.this, f);
                    }
                    f.release();
                    add(1);
                }

                @Override
                public void onError(Throwable t) {
                    t.printStackTrace();
                }

                @Override
                public void onComplete() {
                }
            };
        }

        CoreSubscriber<DevmemFragBatch> batches() {
            return new CoreSubscriber<>() {
                @Override
                public void onSubscribe(Subscription s) {
                    s.request(Long.MAX_VALUE);
                }

                @Override
                public void onNext(DevmemFragBatch b) {
                    int n = b.size();
                    for (int i = 0; i < n; i++) {
                        b.release(i);
                    }
                    add(n);
                }

                @Override
                public void onError(Throwable t) {
                    t.printStackTrace();
                }

                @Override
                public void onComplete() {
                }
            };
        }
    }
}
