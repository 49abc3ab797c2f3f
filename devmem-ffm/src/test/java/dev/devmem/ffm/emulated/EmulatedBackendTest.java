package dev.devmem.ffm.emulated;

import dev.devmem.api.DmabufSource;
import dev.devmem.api.FragKind;
import dev.devmem.api.RxBindingSpec;
import dev.devmem.api.spi.DevmemListener;
import dev.devmem.api.spi.DevmemSocket;
import dev.devmem.api.spi.IoWaiter;
import dev.devmem.api.spi.Pollable;
import dev.devmem.api.spi.ReceiveBatch;
import dev.devmem.ffm.DevmemBackends;
import dev.devmem.ffm.testing.NetcatPattern;
import org.junit.jupiter.api.Test;

import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** The emulated NIC through the backend SPI alone, as devmem-reactor uses it. */
class EmulatedBackendTest {

    @Test
    void listenBindAcceptAndReceiveThroughTheSpi() throws Exception {
        long total = 16L << 20;
        NetcatPattern pattern = NetcatPattern.kernelDoc();
        EmulatedNicConfig config = EmulatedNicConfig.defaults().withRxQueues(2)
                .withFlowSteering(FlowSteering.toQueue(1)).withHeaderSplitFailures(0.02, 7);
        try (EmulatedBackend backend = DevmemBackends.emulated(config);
             IoWaiter waiter = backend.newIoWaiter()) {
            assertThat(backend.name()).isEqualTo("emulated");
            assertThat(backend.availability().available()).isTrue();
            EmulatedRxBinding binding = backend.bindRx(
                    new RxBindingSpec("emu0", List.of(1), DmabufSource.emulated(32 * 4096)));
            assertThat(backend.nic().queueBinding(1)).contains(binding);
            assertThat(backend.nic().queueBinding(0)).isEmpty();

            DevmemListener listener = backend.listen(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 4);
            Thread sender = Thread.ofPlatform().start(() -> {
                try (Socket s = new Socket(InetAddress.getLoopbackAddress(), listener.localAddress().getPort())) {
                    OutputStream out = s.getOutputStream();
                    for (long sent = 0; sent < total; sent += 7 * 9362) {
                        out.write(pattern.bytes(sent, (int) Math.min(7 * 9362, total - sent)));
                    }
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });

            DevmemSocket socket;
            while ((socket = listener.accept()) == null) {
                waiter.await(new Pollable[] {listener}, 1, TimeUnit.SECONDS.toNanos(5));
            }
            ReceiveBatch batch = new ReceiveBatch(64);
            long position = 0;
            long[] bytesByKind = new long[3];
            while (true) {
                int n = socket.receive(batch);
                if (n == DevmemSocket.END_OF_STREAM) {
                    break;
                }
                if (n == 0) {
                    socket.flushReleases();
                    waiter.await(new Pollable[] {socket}, 1, TimeUnit.SECONDS.toNanos(5));
                    continue;
                }
                for (int i = 0; i < n; i++) {
                    assertThat(batch.streamPosition(i)).isEqualTo(position);
                    if (batch.kind(i) == FragKind.DMABUF) {
                        assertThat(batch.dmabufId(i)).isEqualTo(binding.id());
                    }
                    pattern.verify(batch.memory(i).asSlice(batch.offset(i), batch.length(i)), position);
                    position += batch.length(i);
                    bytesByKind[batch.kind(i).ordinal()] += batch.length(i);
                    socket.release(batch.kind(i), batch.releaseKey(i));
                }
            }
            sender.join();
            socket.flushReleases();
            assertThat(position).isEqualTo(total);
            assertThat(bytesByKind[FragKind.DMABUF.ordinal()]).isPositive();
            assertThat(bytesByKind[FragKind.LINEAR.ordinal()]).isPositive();
            assertThat(bytesByKind[FragKind.HOST.ordinal()]).isZero();
            assertThat(socket.outstanding()).isZero();
            assertThat(backend.nic().stats().tokensOutstanding()).isZero();
            socket.close();
            listener.close();
            binding.close();
            assertThat(backend.nic().queueBinding(1)).isEmpty();
            assertThat(binding.isMemoryReleased()).isTrue();
        }
    }
}
