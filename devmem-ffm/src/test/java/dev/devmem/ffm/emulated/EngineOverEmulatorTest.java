package dev.devmem.ffm.emulated;

import dev.devmem.api.DmabufSource;
import dev.devmem.api.FragKind;
import dev.devmem.api.spi.DevmemSocket;
import dev.devmem.api.spi.ReceiveBatch;
import dev.devmem.ffm.rx.DevmemSocketImpl;
import dev.devmem.ffm.rx.DmabufViews;
import dev.devmem.ffm.RxSocketOptions;
import dev.devmem.ffm.testing.NetcatPattern;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class EngineOverEmulatorTest {
    @Test
    void theSharedEngineReceivesThePatternThroughTheEmulatedNic() throws Exception {
        long total = 64L << 20;
        NetcatPattern pattern = NetcatPattern.kernelDoc();
        EmulatedNicConfig cfg = EmulatedNicConfig.defaults().withHeaderSplitFailures(0.05, 9);
        try (EmulatedNic nic = EmulatedNic.create(cfg);
             EmulatedRxBinding b = nic.bindRx(List.of(0), DmabufSource.emulated(64 * 4096));
             Loopback wire = Loopback.open()) {
            DevmemSocket s = new DevmemSocketImpl(nic.attach(wire.takeReceiver(), 0), RxSocketOptions.defaults(),
                    DmabufViews.of(b.id(), b.hostView().orElseThrow()));
            Thread sender = Thread.ofPlatform().start(() -> {
                try {
                    byte[] chunk = pattern.bytes(0, 7 * 37449);
                    long sent = 0;
                    while (sent < total) {
                        int n = (int) Math.min(chunk.length, total - sent);
                        wire.send(n == chunk.length ? chunk : java.util.Arrays.copyOf(chunk, n));
                        sent += n;
                    }
                    wire.shutdownSender();
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            ReceiveBatch batch = new ReceiveBatch(256);
            long pos = 0;
            long[] kinds = new long[3];
            while (true) {
                int n = s.receive(batch);
                if (n == DevmemSocket.END_OF_STREAM) {
                    break;
                }
                if (n == 0) {
                    Loopback.awaitReadable(((DevmemSocketImpl) s).pollFd());
                    continue;
                }
                for (int i = 0; i < n; i++) {
                    assertThat(batch.streamPosition(i)).isEqualTo(pos);
                    pattern.verify(batch.memory(i).asSlice(batch.offset(i), batch.length(i)), pos);
                    pos += batch.length(i);
                    kinds[batch.kind(i).ordinal()] += batch.length(i);
                    s.release(batch.kind(i), batch.releaseKey(i));
                }
                s.flushReleases();
            }
            sender.join();
            assertThat(pos).isEqualTo(total);
            assertThat(kinds[FragKind.DMABUF.ordinal()]).isPositive();
            assertThat(kinds[FragKind.LINEAR.ordinal()]).isPositive();
            assertThat(s.outstanding()).isZero();
            assertThat(nic.stats().tokensOutstanding()).isZero();
            s.close();
            assertThat(b.buffersHeld()).isZero();
        }
    }
}
