package dev.devmem.samples.feeder;

import dev.devmem.ffm.emulated.EmulatedNicConfig;
import dev.devmem.ffm.emulated.EmulatedNicStats;
import dev.devmem.reactor.ConnectionStats;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The feeder over the emulated devmem NIC, fed by a real loopback TCP sender: every record is
 * gathered by the host device from the dmabuf's host mapping and its CRC32C checked, and every
 * ledger (the feeder's frag slots, the connection's tokens, the NIC's buffers) is back to zero.
 */
class FeederEmulatedTest {

    /**
     * Record boundaries against frag boundaries and receive-call boundaries: records larger than a
     * frag span frags; a receive batch of a few frags makes records span receive calls; records smaller
     * than a frag share frags (one frag, several records, several batches).
     */
    @ParameterizedTest(name = "frag {0} B, record {1} B, {2} frags per receive, {3} records per batch")
    @CsvSource({
            "256,   1000,  4,   8",   // records span ~4 frags and several receive calls
            "4096,  100,   16,  32",  // ~40 records per frag: frags shared by records and by batches
            "1024,  1024,  8,   5",   // record size = frag size, offsets still drift with packet sizes
            "4096,  65560, 256, 4",   // 64 KiB payloads: 17+ frags per record
            "64,    4096,  2,   3",   // tiny frags, 2 per receive: every record spans many receives
    })
    void recordsAcrossFragsAndReceivesAreGatheredAndVerified(int fragSize, int recordBytes, int receiveBatch,
                                                             int recordsPerBatch) throws Exception {
        long records = Math.max(200, (24L << 20) / recordBytes / (fragSize < 256 ? 8 : 1));
        RecordFormat format = RecordFormat.ofRecordSize(recordBytes);
        // Packets 24 bytes short of 16 frags: when the sender keeps the socket full, every read is a whole
        // packet, and packets of whole frags would keep record and frag boundaries aligned for good (a
        // record of one frag's size would then never span two receives).
        EmulatedNicConfig nic = EmulatedNicConfig.defaults().withFragSize(fragSize).withMaxSkbSize(16 * fragSize - 24);
        long dmabuf = 4096L * fragSize;
        try (EmulatedFeed feed = new EmulatedFeed(nic, dmabuf, 3072, receiveBatch);
             HostGatherDevice device = new HostGatherDevice(4, (long) recordsPerBatch * recordBytes)) {
            RecordVerifier verifier = new RecordVerifier(format);
            CompletableFuture<FeedReport> report = feed.start(new Feeder(
                    new FeederConfig(format, recordsPerBatch, feed.tokenBudget), device, verifier));
            long sent = EmulatedFeed.await(feed.send(new RecordSender(format), records));
            FeedReport r = EmulatedFeed.await(report);
            System.out.printf("frag %d, record %d: %s%n", fragSize, recordBytes, r);

            assertThat(sent).isEqualTo(records * recordBytes);
            assertThat(r.bytes()).isEqualTo(sent);
            assertThat(verifier.problems()).isEmpty();
            assertThat(verifier.verified()).as("every record's header and CRC32C").isEqualTo(records);
            assertThat(r.records()).isEqualTo(records);
            assertThat(r.batches()).isGreaterThanOrEqualTo((records + recordsPerBatch - 1) / recordsPerBatch);
            assertThat(r.dmabufFrags()).as("the dmabuf path").isPositive();
            if (recordBytes > fragSize) {
                assertThat(r.recordsSpanningFrags()).as("records across frags").isPositive();
                assertThat(r.maxPiecesPerRecord()).isGreaterThanOrEqualTo((recordBytes + fragSize - 1) / fragSize);
            }
            if ((long) receiveBatch * fragSize < recordBytes) {
                assertThat(r.recordsSpanningReceives()).as("records across recvmsg calls").isEqualTo(records);
            } else {
                assertThat(r.recordsSpanningReceives()).as("records across recvmsg calls").isPositive();
            }
            if (recordBytes < fragSize) {
                assertThat(r.pieces()).as("frags shared by several records").isGreaterThan(r.frags());
            }
            assertLedgersBalance(feed, r);
        }
    }

    /**
     * Header-split failures: a fraction of packets put their first bytes in the linear area, so records
     * contain LINEAR frags (host bytes) between DMABUF frags; they are gathered from the host bytes,
     * in place.
     */
    @Test
    void recordsContainingLinearFragsFromHeaderSplitFailuresAreGatheredRight() throws Exception {
        RecordFormat format = RecordFormat.ofRecordSize(3000);
        long records = 8000;
        EmulatedNicConfig nic = EmulatedNicConfig.defaults().withFragSize(1024).withMaxSkbSize(8192)
                .withHeaderSplitFailures(0.3, 7).withHeaderBufferSize(200);
        try (EmulatedFeed feed = new EmulatedFeed(nic, 8L << 20, 4096, 64);
             HostGatherDevice device = new HostGatherDevice(4, 16L * 3000)) {
            RecordVerifier verifier = new RecordVerifier(format);
            CompletableFuture<FeedReport> report = feed.start(new Feeder(new FeederConfig(format, 16, 4096), device,
                    verifier));
            EmulatedFeed.await(feed.send(new RecordSender(format), records));
            FeedReport r = EmulatedFeed.await(report);
            System.out.println("header-split failures: " + r);

            assertThat(feed.backend.nic().stats().headerSplitFailures()).as("the injected fault fired").isPositive();
            assertThat(r.linearFrags()).as("LINEAR frags received").isPositive();
            assertThat(r.recordsWithLinear()).as("records with LINEAR pieces").isPositive();
            assertThat(r.dmabufFrags()).isPositive();
            assertThat(verifier.problems()).isEmpty();
            assertThat(verifier.verified()).isEqualTo(records);
            assertLedgersBalance(feed, r);
        }
    }

    static void assertLedgersBalance(EmulatedFeed feed, FeedReport r) throws InterruptedException {
        assertThat(r.overReleases()).as("no reference dropped twice").isZero();
        assertThat(r.fragsReleased()).as("feeder ledger: every frag taken was released").isEqualTo(r.fragsTaken());
        assertThat(r.fragsTaken()).isEqualTo(r.frags());
        assertThat(r.maxFragsHeld()).isLessThanOrEqualTo(feed.tokenBudget);
        feed.awaitClosedAndUnbound();
        ConnectionStats stats = feed.connection.get().stats();
        assertThat(stats.fragsReceived()).isEqualTo(r.frags());
        assertThat(stats.fragsOutstanding()).as("connection ledger").isZero();
        assertThat(stats.fragsReclaimed()).as("nothing reclaimed at close: nothing leaked").isZero();
        assertThat(stats.fragsReturned()).isEqualTo(stats.fragsReceived());
        assertThat(stats.maxOutstanding()).as("token budget").isLessThanOrEqualTo(feed.tokenBudget);
        EmulatedNicStats nic = feed.backend.nic().stats();
        assertThat(nic.tokensOutstanding()).as("NIC tokens").isZero();
        assertThat(nic.buffersHeld()).as("NIC buffers").isZero();
    }
}
