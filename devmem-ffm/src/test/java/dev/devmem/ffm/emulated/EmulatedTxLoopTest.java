package dev.devmem.ffm.emulated;

import dev.devmem.api.DmabufSource;
import dev.devmem.api.FragKind;
import dev.devmem.api.RxBindingSpec;
import dev.devmem.api.TxBindingSpec;
import dev.devmem.api.spi.DevmemSocket;
import dev.devmem.api.spi.DevmemTxSocket;
import dev.devmem.api.spi.IoWaiter;
import dev.devmem.api.spi.TxStats;
import dev.devmem.ffm.rx.DevmemSocketImpl;
import dev.devmem.ffm.rx.DmabufViews;
import dev.devmem.ffm.RxSocketOptions;
import dev.devmem.ffm.testing.NetcatPattern;
import dev.devmem.ffm.testing.PatternReceiver;
import dev.devmem.ffm.testing.TxSlots;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static dev.devmem.ffm.sys.LinuxConstants.SOL_SOCKET;
import static dev.devmem.ffm.sys.LinuxConstants.SO_RCVBUF;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Emulated TX, real TCP, emulated RX: the netcat pattern written into a small TX dmabuf, sent with
 * devmem sendmsg through the backend SPI, received as DMABUF fragments of the rx dmabuf and checked
 * byte for byte. The TX dmabuf is a ring of slots refilled only after their sends complete: the
 * emulated NIC sends with a real MSG_ZEROCOPY, so a slot rewritten while its bytes still wait in the
 * sender's queue puts wrong bytes on the wire. The receiver has a small socket buffer and dawdles now
 * and then so that such bytes exist; with the completion discipline removed, this test fails.
 */
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class EmulatedTxLoopTest {

    @Test
    void aGibibyteFromAnEmulatedTxDmabufArrivesIntactThroughTheEmulatedRxPath() throws Exception {
        long total = Long.getLong("devmem.test.gib", 1) << 30;
        int slot = 256 << 10;
        int slots = 4; // 1 MiB of TX "device memory", refilled 1024 times per GiB
        NetcatPattern pattern = NetcatPattern.kernelDoc();
        try (EmulatedBackend backend = EmulatedBackend.create(EmulatedNicConfig.defaults().withRxQueues(1));
             EmulatedRxBinding rx = backend.bindRx(new RxBindingSpec("emu0", List.of(0), DmabufSource.emulated(256 << 10)));
             EmulatedTxBinding tx = backend.bindTx(new TxBindingSpec("emu0", DmabufSource.emulated((long) slot * slots)));
             EmulatedListener listener = backend.nic().listen(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 1)) {
            // a small receive buffer: while the consumer dawdles, sent bytes wait in the *sender's* queue,
            // not yet copied anywhere, and only the completion says when their slot may be rewritten
            Loopback.setInt(listener.fd(), SOL_SOCKET, SO_RCVBUF, 64 << 10);
            try (DevmemTxSocket out = backend.connectTx(listener.localAddress(), tx);
                 DevmemSocket in = new DevmemSocketImpl(accept(listener), RxSocketOptions.defaults(),
                         DmabufViews.of(rx.id(), rx.hostView().orElseThrow()))) {
                CompletableFuture<PatternReceiver.Result> receiver = CompletableFuture.supplyAsync(() -> {
                    try (IoWaiter w = backend.newIoWaiter()) {
                        // every 64 MiB the consumer dawdles: the window closes and sent bytes wait, not yet
                        // copied anywhere, in the sender's queue; a slot refilled before its completion
                        // would corrupt the stream
                        return PatternReceiver.receive(in, w, pattern, 20);
                    } catch (Exception e) {
                        throw new java.util.concurrent.CompletionException(e);
                    }
                });
                TxSlots.Result sent;
                try (IoWaiter waiter = backend.newIoWaiter()) {
                    sent = TxSlots.send(out, tx, waiter, pattern, total, slot, slots, receiver);
                }
                out.shutdownOutput();
                PatternReceiver.Result got = receiver.get(5, TimeUnit.MINUTES);

                TxStats st = out.stats();
                assertThat(got.total()).as("bytes received and checked").isEqualTo(total);
                assertThat(got.bytes(FragKind.DMABUF)).as("all of them DMABUF fragments").isEqualTo(total);
                assertThat(st.bytesSent()).isEqualTo(total);
                assertThat(st.completedBytes()).isEqualTo(total);
                assertThat(sent.bytesCompleted()).isEqualTo(total);
                assertThat(sent.sendsCompleted()).isEqualTo(st.sends()).isEqualTo(st.completedSends());
                assertThat(sent.copiedSends()).as("device memory is never copied").isZero();
                assertThat(st.sends()).as("at least one send per slot fill").isGreaterThanOrEqualTo(total / slot);
                assertThat(st.outstandingSends()).isZero();
                assertThat(st.outstandingBytes()).isZero();
                assertThat(st.copiedSends()).isZero();
                assertThat(tx.sends()).isEqualTo(st.sends());
                assertThat(tx.bytesSent()).isEqualTo(total);
                assertThat(rx.buffersHeld()).isZero();
                assertThat(sent.slotWaits()).as("the sender found its next slot still in flight and waited").isPositive();
                System.out.printf("emulated TX loop: %d bytes, %d sends (%d partial, %d would-block), %d notices,"
                        + " %d waits for a slot%n", total, st.sends(), st.partialSends(), st.wouldBlock(), st.notices(), sent.slotWaits());
            }
        }
    }

    private static EmulatedEndpoint accept(EmulatedListener listener) throws Exception {
        for (int i = 0; i < 100; i++) {
            EmulatedEndpoint e = listener.accept();
            if (e != null) {
                return e;
            }
            Loopback.awaitReadable(listener.pollFd());
        }
        throw new AssertionError("no connection to accept");
    }
}
