package dev.devmem.samples.feeder;

import dev.devmem.ffm.emulated.EmulatedNicConfig;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A device that holds its batches: the consumer keeps every batch buffer until a gate opens, so the
 * device cannot gather, frags stay held, the token budget stops the receive and TCP stops the
 * sender. Nothing is lost: once the gate opens every record arrives, in order, with its CRC32C right.
 */
class SlowDeviceTest {

    @Test
    void heldBatchesHoldTokensPushTheSenderBackAndLoseNothing() throws Exception {
        RecordFormat format = RecordFormat.ofRecordSize(64 * 1024 + 24);
        long records = 1024; // 64 MiB: far more than the budget's 1 MiB plus every socket buffer
        int budget = 256;
        EmulatedNicConfig nic = EmulatedNicConfig.defaults().withFragSize(4096);
        try (EmulatedFeed feed = new EmulatedFeed(nic, 2L << 20, budget, 64);
             HostGatherDevice device = new HostGatherDevice(2, 8L * format.recordBytes())) {
            RecordVerifier verifier = new RecordVerifier(format);
            Gate gate = new Gate(verifier);
            CompletableFuture<FeedReport> report = feed.start(new Feeder(new FeederConfig(format, 8, budget), device,
                    gate));
            RecordSender sender = new RecordSender(format);
            CompletableFuture<Long> sent = feed.send(sender, records);

            EmulatedFeed.until("the receive stops on the token budget",
                    () -> feed.meters.find("devmem.stalls").tag("reason", "tokens").counters().stream()
                            .anyMatch(c -> c.count() > 0));
            EmulatedFeed.until("the consumer holds both device buffers", () -> gate.held() == 2);
            long total = records * format.recordBytes();
            long received = feed.connection.get().stats().bytesReceived();
            assertThat(gate.held()).as("no more batches than device buffers").isEqualTo(2);
            assertThat(feed.connection.get().stats().fragsOutstanding()).as("tokens held").isPositive()
                    .isLessThanOrEqualTo(budget);
            assertThat(received).as("received: what the budget holds plus the two batches gathered")
                    .isLessThanOrEqualTo((long) budget * 4096 + 2L * 8 * format.recordBytes());
            assertThat(sent).as("the sender is pushed back, not done").isNotDone();
            assertThat(sender.bytesWritten()).isLessThan(total);

            gate.open();
            assertThat(EmulatedFeed.await(sent)).isEqualTo(total);
            FeedReport r = EmulatedFeed.await(report);
            System.out.println("slow device: " + r + ", stats " + feed.connection.get().stats());
            assertThat(verifier.problems()).isEmpty();
            assertThat(verifier.verified()).as("nothing lost").isEqualTo(records);
            FeederEmulatedTest.assertLedgersBalance(feed, r);
        }
    }

    /** Keeps batches (buffers not recycled) until opened; then verifies and recycles everything, in order. */
    private static final class Gate implements BatchConsumer {
        private final RecordVerifier verifier;
        private final List<GatheredBatch> held = new ArrayList<>();
        private boolean open;

        Gate(RecordVerifier verifier) {
            this.verifier = verifier;
        }

        @Override
        public synchronized void accept(GatheredBatch batch) {
            if (open) {
                verifier.accept(batch);
            } else {
                held.add(batch);
            }
        }

        synchronized int held() {
            return held.size();
        }

        synchronized void open() {
            open = true;
            held.forEach(verifier::accept);
            held.clear();
        }
    }
}
