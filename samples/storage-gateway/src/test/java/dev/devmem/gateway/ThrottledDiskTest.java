package dev.devmem.gateway;

import dev.devmem.gateway.store.DirectIo;
import dev.devmem.gateway.store.FileObjectStore;
import dev.devmem.gateway.store.Manifest;
import dev.devmem.gateway.store.ThrottledStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A disk that stops taking writes (a gate in a store decorator) must stop the gateway from reading
 * and so stop the sender: the bytes the sender got into its socket stall far below what it wants to
 * send, bounded by the flow's token budget plus the kernel's socket buffers, and the gateway never
 * holds more than the budget. When the disk comes back, the object completes, every byte right.
 */
class ThrottledDiskTest {
    private static final long TOTAL = 256L << 20;
    private static final int BUDGET = 64;

    @TempDir
    Path dir;

    /** A disk that takes nothing while closed, and counts what it took. */
    static final class Gate implements ThrottledStore.Throttle {
        final AtomicLong written = new AtomicLong();
        private boolean open;

        @Override
        public synchronized void beforeWrite(long bytes) throws InterruptedException {
            while (!open) {
                wait();
            }
            written.addAndGet(bytes);
        }

        synchronized void open() {
            open = true;
            notifyAll();
        }
    }

    @Test
    void aStalledDiskStopsTheSenderWithinTheBudget() throws Exception {
        Gate gate = new Gate();
        ThrottledStore store = new ThrottledStore(FileObjectStore.open(dir, DirectIo.Mode.OFF), gate);
        GatewayConfig config = GatewayConfig.defaults().withDmabuf(8L << 20, 4096).withTokenBudget(BUDGET);
        try (StorageGateway g = StorageGateway.start(config, store, System.out::println)) {
            PatternSender sender = new PatternSender(7);
            Thread t = Thread.ofPlatform().start(() -> {
                try {
                    sender.send(g.flowAddress(), TOTAL);
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            long stalledAt = waitForStall(sender);
            // pushed back: the sender could not get near its total into the network...
            long socketBuffers = maxOf("/proc/sys/net/ipv4/tcp_rmem") + maxOf("/proc/sys/net/ipv4/tcp_wmem");
            long bound = (long) BUDGET * 4096 + 65536 + socketBuffers;
            System.out.printf("sender stalled at %d bytes of %d (bound: budget %d B + one skb + socket buffers %d B)%n",
                    stalledAt, TOTAL, (long) BUDGET * 4096, socketBuffers);
            assertThat(stalledAt).isLessThanOrEqualTo(bound).isLessThan(TOTAL);
            // ...the disk took nothing, and the gateway held at most the budget
            assertThat(gate.written.get()).isZero();
            assertThat(g.stats().outstandingFrags()).isBetween(1L, (long) BUDGET);
            assertThat(g.stats().maxOutstandingFrags()).isLessThanOrEqualTo(BUDGET);
            assertThat(store.list()).isEmpty();

            gate.open();
            t.join();
            FlowResult r = g.results().blockFirst(Duration.ofSeconds(120));
            assertThat(r.error()).isNull();
            assertThat(r.maxOutstanding()).isLessThanOrEqualTo(BUDGET);
            Manifest m = r.manifest();
            assertThat(m.size()).isEqualTo(TOTAL);
            assertThat(m.crc32c()).isEqualTo(Manifest.hex(PatternSender.crc32c(7, TOTAL)));
            assertThat(gate.written.get()).isEqualTo(TOTAL);
            assertThat(Files.size(dir.resolve(m.key() + ".data"))).isEqualTo(TOTAL);
        }
    }

    /** A disk that counts what it took, at a fixed rate. */
    static final class Counting implements ThrottledStore.Throttle {
        final AtomicLong written = new AtomicLong();
        private final ThrottledStore.Throttle rate;

        Counting(long bytesPerSecond) {
            this.rate = ThrottledStore.Throttle.rate(bytesPerSecond);
        }

        @Override
        public void beforeWrite(long bytes) throws InterruptedException {
            rate.beforeWrite(bytes);
            written.addAndGet(bytes);
        }
    }

    @Test
    void aSlowDiskPacesTheSender() throws Exception {
        long total = 96L << 20; // well above the bound below, so staying within it is the disk's doing
        Counting disk = new Counting(32L << 20);
        ThrottledStore store = new ThrottledStore(FileObjectStore.open(dir, DirectIo.Mode.OFF), disk);
        GatewayConfig config = GatewayConfig.defaults().withDmabuf(8L << 20, 4096).withTokenBudget(BUDGET);
        long bound = (long) BUDGET * 4096 + 65536 + maxOf("/proc/sys/net/ipv4/tcp_rmem") + maxOf("/proc/sys/net/ipv4/tcp_wmem");
        try (StorageGateway g = StorageGateway.start(config, store, System.out::println)) {
            PatternSender sender = new PatternSender(7);
            Thread t = Thread.ofPlatform().start(() -> {
                try {
                    sender.send(g.flowAddress(), total);
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            // at every moment, what the sender got into the network is what the disk took plus at most the
            // budget, one skb and the kernel's socket buffers: the disk sets the pace
            long worst = 0;
            int samples = 0;
            while (t.isAlive()) {
                long written = disk.written.get();
                long sent = sender.sent();
                worst = Math.max(worst, sent - written);
                assertThat(g.stats().outstandingFrags()).isLessThanOrEqualTo(BUDGET);
                samples++;
                Thread.sleep(10);
            }
            System.out.printf("slow disk: sender ahead of the disk by at most %d bytes (bound %d) over %d samples%n",
                    worst, bound, samples);
            assertThat(bound).isLessThan(total);
            assertThat(worst).isLessThanOrEqualTo(bound);
            FlowResult r = g.results().blockFirst(Duration.ofSeconds(120));
            assertThat(r.error()).isNull();
            assertThat(r.maxOutstanding()).isLessThanOrEqualTo(BUDGET);
            assertThat(r.manifest().crc32c()).isEqualTo(Manifest.hex(PatternSender.crc32c(7, total)));
        }
    }

    /** Polls until the sender's count stops moving for a while; returns where it stopped. */
    private static long waitForStall(PatternSender sender) throws InterruptedException {
        long last = -1;
        int still = 0;
        for (int i = 0; i < 600 && still < 10; i++) {
            Thread.sleep(50);
            long now = sender.sent();
            still = now == last && now > 0 ? still + 1 : 0;
            last = now;
        }
        assertThat(still).as("the sender's progress stalls while the disk takes nothing").isGreaterThanOrEqualTo(10);
        return last;
    }

    private static long maxOf(String sysctl) throws java.io.IOException {
        String[] v = new String(Files.newInputStream(Path.of(sysctl)).readAllBytes()).trim().split("\\s+");
        return Long.parseLong(v[v.length - 1]);
    }
}
