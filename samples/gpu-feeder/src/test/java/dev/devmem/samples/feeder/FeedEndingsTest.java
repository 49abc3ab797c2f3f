package dev.devmem.samples.feeder;

import dev.devmem.api.DevmemProtocolException;
import dev.devmem.ffm.emulated.EmulatedNicConfig;
import dev.devmem.reactor.ConnectionStats;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.SocketChannel;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.CRC32C;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The feed's other endings: a stream that stops inside a record fails with a typed error naming the
 * record, a consumer that throws fails the feed, and a cancelled feed gives every frag back. Each
 * time, with batches still on the device, nothing is reclaimed at close: the frags came back, none
 * leaked.
 */
class FeedEndingsTest {
    private final RecordFormat format = RecordFormat.ofRecordSize(5000);

    @Test
    void aStreamEndingInsideARecordFailsNamingItAndReleasesEverything() throws Exception {
        try (EmulatedFeed feed = new EmulatedFeed(EmulatedNicConfig.defaults().withFragSize(1024), 4L << 20, 2048, 16);
             HostGatherDevice device = new HostGatherDevice(2, 4L * format.recordBytes())) {
            RecordVerifier verifier = new RecordVerifier(format);
            CompletableFuture<FeedReport> report = feed.start(new Feeder(new FeederConfig(format, 4, 2048), device,
                    verifier));
            sendRaw(feed, 7, 1234); // 7 records, then 1234 bytes of the 8th
            assertThatThrownBy(() -> EmulatedFeed.await(report)).isInstanceOf(ExecutionException.class)
                    .cause().isInstanceOf(DevmemProtocolException.class)
                    .hasMessage("the stream ended 1234 bytes into record 7 (records are 5000 bytes)");
            assertThat(verifier.verified()).as("the complete records were still delivered").isEqualTo(7);
            assertNothingLeaked(feed);
        }
    }

    @Test
    void aConsumerThatThrowsFailsTheFeedAndLeaksNothing() throws Exception {
        try (EmulatedFeed feed = new EmulatedFeed(EmulatedNicConfig.defaults().withFragSize(1024), 4L << 20, 2048, 16);
             HostGatherDevice device = new HostGatherDevice(2, 4L * format.recordBytes())) {
            AtomicLong seen = new AtomicLong();
            BatchConsumer failing = b -> {
                b.buffer().recycle();
                if (seen.incrementAndGet() == 3) {
                    throw new IllegalStateException("the trainer fell over");
                }
            };
            CompletableFuture<FeedReport> report = feed.start(new Feeder(new FeederConfig(format, 4, 2048), device,
                    failing));
            CompletableFuture<Long> sent = feed.send(new RecordSender(format), 20_000); // 100 MiB: more than socket buffers hold
            assertThatThrownBy(() -> EmulatedFeed.await(report)).cause().hasMessage("the trainer fell over");
            assertNothingLeaked(feed);
            assertThatThrownBy(() -> EmulatedFeed.await(sent)).as("the sender sees the connection close")
                    .isInstanceOf(ExecutionException.class);
        }
    }

    @Test
    void cancellingTheFeedWhileTheDeviceHoldsBatchesGivesEveryFragBack() throws Exception {
        try (EmulatedFeed feed = new EmulatedFeed(EmulatedNicConfig.defaults().withFragSize(1024), 4L << 20, 512, 16);
             HostGatherDevice device = new HostGatherDevice(2, 4L * format.recordBytes())) {
            java.util.List<GatheredBatch> held = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
            CompletableFuture<FeedReport> report = feed.start(new Feeder(new FeederConfig(format, 4, 512), device,
                    held::add));
            feed.send(new RecordSender(format), 5000);
            EmulatedFeed.until("the device's buffers are held and the receive stopped on the budget",
                    () -> held.size() == 2 && feed.connection.get() != null
                            && feed.connection.get().stats().fragsOutstanding() > 256);
            report.cancel(true); // cancels the subscription: the receive stops, queued batches still hold frags
            held.forEach(b -> b.buffer().recycle()); // the device finishes what it has, and the frags come back
            assertNothingLeaked(feed);
        }
    }

    private void sendRaw(EmulatedFeed feed, int records, int extra) throws Exception {
        int size = format.recordBytes();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment bytes = arena.allocate((long) (records + 1) * size);
            CRC32C crc = new CRC32C();
            for (int r = 0; r <= records; r++) {
                format.write(bytes.asSlice((long) r * size, size), r, crc);
            }
            java.nio.ByteBuffer b = bytes.asByteBuffer().limit(records * size + extra);
            try (SocketChannel ch = connect(feed)) {
                while (b.hasRemaining()) {
                    ch.write(b);
                }
            }
        }
    }

    private static SocketChannel connect(EmulatedFeed feed) throws Exception {
        long deadline = System.nanoTime() + EmulatedFeed.TIMEOUT.toNanos();
        while (true) {
            try {
                return SocketChannel.open(feed.address);
            } catch (java.net.ConnectException e) {
                if (System.nanoTime() > deadline) {
                    throw e;
                }
                Thread.sleep(10);
            }
        }
    }

    private static void assertNothingLeaked(EmulatedFeed feed) throws InterruptedException {
        feed.awaitClosedAndUnbound();
        ConnectionStats stats = feed.connection.get().stats();
        assertThat(stats.fragsOutstanding()).isZero();
        assertThat(stats.fragsReclaimed()).as("every frag came back before the close; none leaked").isZero();
        assertThat(stats.fragsReturned()).isEqualTo(stats.fragsReceived());
        assertThat(feed.backend.nic().stats().tokensOutstanding()).isZero();
        assertThat(feed.backend.nic().stats().buffersHeld()).isZero();
    }
}
