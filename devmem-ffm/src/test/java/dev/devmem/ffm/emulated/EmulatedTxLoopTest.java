package dev.devmem.ffm.emulated;

import dev.devmem.api.DmabufSource;
import dev.devmem.api.FragKind;
import dev.devmem.api.RxBindingSpec;
import dev.devmem.api.TxBindingSpec;
import dev.devmem.api.spi.DevmemSocket;
import dev.devmem.api.spi.DevmemTxSocket;
import dev.devmem.api.spi.IoWaiter;
import dev.devmem.api.spi.Pollable;
import dev.devmem.api.spi.ReceiveBatch;
import dev.devmem.api.spi.TxStats;
import dev.devmem.ffm.rx.DevmemSocketImpl;
import dev.devmem.ffm.rx.DmabufViews;
import dev.devmem.ffm.rx.RxSocketOptions;
import dev.devmem.ffm.testing.NetcatPattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.MemorySegment;
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
 * emulated NIC sends with a real MSG_ZEROCOPY, so a slot rewritten too early would put wrong bytes
 * on the wire, and the receiver would see them.
 */
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class EmulatedTxLoopTest {
    private static final long IDLE_NANOS = TimeUnit.MILLISECONDS.toNanos(200);

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
            DevmemTxSocket out = backend.connectTx(listener.localAddress(), tx);
            DevmemSocket in = new DevmemSocketImpl(accept(listener), RxSocketOptions.defaults(),
                    DmabufViews.of(rx.id(), rx.hostView().orElseThrow()));
            CompletableFuture<long[]> receiver = CompletableFuture.supplyAsync(() -> receive(backend, in, pattern));

            MemorySegment view = tx.hostView().orElseThrow();
            int[] sendsInFlight = new int[slots]; // a slot is refilled only when none of its sends is outstanding
            long[] completed = new long[2]; // bytes, sends
            long pos = 0;
            int next = 0;
            long inSlot = 0; // bytes of slot `next` already sent
            long slotWaits = 0;
            try (IoWaiter waiter = backend.newIoWaiter()) {
                Pollable[] one = {out};
                while (completed[0] < total) {
                    if (receiver.isCompletedExceptionally()) {
                        receiver.join(); // the receiver found a wrong byte (or failed): throw it
                    }
                    boolean progress = false;
                    if (pos < total && inSlot == 0 && sendsInFlight[next] > 0) {
                        slotWaits++;
                    }
                    if (pos < total && (inSlot > 0 || sendsInFlight[next] == 0)) {
                        long len = Math.min(slot, total - (pos - inSlot)) - inSlot;
                        if (inSlot == 0) {
                            pattern.fill(view.asSlice((long) next * slot, len), pos);
                        }
                        long r = out.send(tx, (long) next * slot + inSlot, len, next);
                        if (r > 0) {
                            progress = true;
                            sendsInFlight[next]++;
                            pos += r;
                            inSlot += r;
                            if (r == len) { // the slot is on its way; the next one
                                next = (next + 1) % slots;
                                inSlot = 0;
                            }
                        }
                    }
                    int n = out.pollCompletions((tag, bytes, copied) -> {
                        assertThat(copied).as("device memory is never copied").isFalse();
                        completed[0] += bytes;
                        completed[1]++;
                        sendsInFlight[(int) tag]--;
                    });
                    if (!progress && n == 0) {
                        waiter.await(one, 1, IDLE_NANOS);
                    }
                }
            }
            out.shutdownOutput();
            long[] got = receiver.get(5, TimeUnit.MINUTES);
            in.close();
            out.close();

            TxStats st = out.stats();
            assertThat(got[0]).as("bytes received and checked").isEqualTo(total);
            assertThat(got[1]).as("all of them DMABUF fragments").isEqualTo(total);
            assertThat(st.bytesSent()).isEqualTo(total);
            assertThat(st.completedBytes()).isEqualTo(total);
            assertThat(completed[0]).isEqualTo(total);
            assertThat(completed[1]).isEqualTo(st.sends()).isEqualTo(st.completedSends());
            assertThat(st.sends()).as("at least one send per slot fill").isGreaterThanOrEqualTo(total / slot);
            assertThat(st.outstandingSends()).isZero();
            assertThat(st.outstandingBytes()).isZero();
            assertThat(st.copiedSends()).isZero();
            assertThat(tx.sends()).isEqualTo(st.sends());
            assertThat(tx.bytesSent()).isEqualTo(total);
            assertThat(rx.buffersHeld()).isZero();
            assertThat(slotWaits).as("the sender found its next slot still in flight and waited").isPositive();
            System.out.printf("emulated TX loop: %d bytes, %d sends (%d partial, %d would-block), %d notices,"
                    + " %d waits for a slot%n", total, st.sends(), st.partialSends(), st.wouldBlock(), st.notices(), slotWaits);
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

    /** Receives to the end, checking every fragment against the pattern; returns {total, DMABUF bytes}. */
    private static long[] receive(EmulatedBackend backend, DevmemSocket in, NetcatPattern pattern) {
        ReceiveBatch batch = new ReceiveBatch(256);
        long total = 0;
        long dmabuf = 0;
        try (IoWaiter w = backend.newIoWaiter()) {
            Pollable[] one = {in};
            while (true) {
                int n = in.receive(batch);
                if (n == DevmemSocket.END_OF_STREAM) {
                    return new long[]{total, dmabuf};
                }
                if (n == 0) {
                    w.await(one, 1, IDLE_NANOS);
                    continue;
                }
                if ((total >>> 26) != ((total + batch.bytes()) >>> 26)) {
                    // every 64 MiB the consumer dawdles: the window closes, sent bytes wait unread in the
                    // sender's queue, and a slot refilled before its completion would corrupt the stream
                    Thread.sleep(20);
                }
                for (int i = 0; i < n; i++) {
                    long at = batch.streamPosition(i);
                    if (at != total) {
                        throw new AssertionError("fragment at stream position " + at + ", expected " + total);
                    }
                    pattern.verify(batch.memory(i).asSlice(batch.offset(i), batch.length(i)), at);
                    total += batch.length(i);
                    if (batch.kind(i) == FragKind.DMABUF) {
                        dmabuf += batch.length(i);
                    }
                    in.release(batch.kind(i), batch.releaseKey(i));
                }
                in.flushReleases();
            }
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
