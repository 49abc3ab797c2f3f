package dev.devmem.cli;

import dev.devmem.api.DmabufSource;
import dev.devmem.api.FragKind;
import dev.devmem.ffm.DevmemBackends;
import dev.devmem.ffm.bindd.BinderBackend;
import dev.devmem.ffm.bindd.BinderConfig;
import dev.devmem.ffm.bindd.BinderDaemon;
import dev.devmem.ffm.emulated.EmulatedBackend;
import dev.devmem.ffm.emulated.EmulatedNicConfig;
import dev.devmem.ffm.emulated.FlowSteering;
import dev.devmem.reactor.DevmemReceiver;
import org.junit.jupiter.api.Test;

import java.io.OutputStream;
import java.lang.foreign.ValueLayout;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The whole user path through the daemon: a {@link DevmemReceiver} over the binder backend binds
 * (through the daemon) when subscribed, receives a stream as {@code Flux<DevmemFrag>} on the emulated
 * NIC, every byte checked where it landed, and its lease ends with the subscription.
 */
class BinddReactorTest {

    @Test
    void aReceiverOverTheBinderBackendStreamsAndReleasesItsLeaseWhenDone() throws Exception {
        Path dir = Files.createTempDirectory("bindd-reactor-");
        long total = 8L << 20;
        try (BinderDaemon daemon = BinderDaemon.start(BinderConfig.of(dir.resolve("bindd.sock"))
                .withEmulatedNic(EmulatedNicConfig.defaults()), line -> { });
             BinderBackend backend = DevmemBackends.emulatedViaBinder(daemon.socket(),
                     EmulatedNicConfig.defaults().withFlowSteering(FlowSteering.toQueue(0)))) {
            int port;
            try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                port = probe.getLocalPort();
            }
            InetSocketAddress local = new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
            CompletableFuture<Void> sender = CompletableFuture.runAsync(() -> {
                for (int attempt = 0; ; attempt++) {
                    try (Socket s = new Socket(local.getAddress(), port)) {
                        OutputStream out = s.getOutputStream();
                        byte[] chunk = new byte[64 << 10];
                        for (long sent = 0; sent < total; sent += chunk.length) {
                            for (int i = 0; i < chunk.length; i++) {
                                chunk[i] = pattern(sent + i);
                            }
                            out.write(chunk);
                        }
                        return;
                    } catch (java.net.ConnectException notYet) {
                        if (attempt > 3000) {
                            throw new IllegalStateException(notYet);
                        }
                        Thread.onSpinWait();
                        try {
                            Thread.sleep(5);
                        } catch (InterruptedException e) {
                            throw new IllegalStateException(e);
                        }
                    } catch (java.io.IOException e) {
                        throw new IllegalStateException(e);
                    }
                }
            });
            AtomicLong dmabufBytes = new AtomicLong();
            AtomicLong mismatches = new AtomicLong();
            Long received = DevmemReceiver.create(backend).interfaceName("emu0").rxQueues(0)
                    .dmabuf(DmabufSource.emulated(64 * 4096))
                    .receiveOne(local)
                    .map(frag -> {
                        try {
                            for (int i = 0; i < frag.length(); i++) {
                                if (frag.segment().get(ValueLayout.JAVA_BYTE, i) != pattern(frag.streamPosition() + i)) {
                                    mismatches.incrementAndGet();
                                }
                            }
                            if (frag.kind() == FragKind.DMABUF) {
                                dmabufBytes.addAndGet(frag.length());
                                assertThat(daemon.stats().bindings()).as("leased while streaming").isEqualTo(1);
                            }
                            return (long) frag.length();
                        } finally {
                            frag.release();
                        }
                    })
                    .reduce(0L, Long::sum)
                    .block(Duration.ofMinutes(2));
            sender.join();
            assertThat(received).isEqualTo(total);
            assertThat(mismatches.get()).isZero();
            assertThat(dmabufBytes.get()).as("payload landed in the daemon-granted dmabuf").isPositive();
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos(); // teardown follows onComplete
            while (daemon.stats().bindings() != 0 && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertThat(daemon.stats().bindings()).as("the subscription's end ended the lease").isZero();
            assertThat(((EmulatedBackend) backend.local()).nic().queueBinding(0)).isEmpty();
            assertThat(((EmulatedBackend) backend.local()).nic().stats().tokensOutstanding()).as("ledger").isZero();
            assertThat(daemon.stats().binds()).isEqualTo(1);
        } finally {
            Files.deleteIfExists(dir);
        }
    }

    private static byte pattern(long position) {
        return (byte) (position * 31 + (position >>> 13));
    }
}
