package dev.devmem.ffm.rx;

import dev.devmem.ffm.RxSocketOptions;
import dev.devmem.api.DevmemProtocolException;
import dev.devmem.api.Errno;
import dev.devmem.api.FragKind;
import dev.devmem.api.SyscallException;
import dev.devmem.api.spi.DevmemSocket;
import dev.devmem.api.spi.ReceiveBatch;
import dev.devmem.api.spi.SocketStats;
import dev.devmem.ffm.sys.LinuxConstants;
import dev.devmem.ffm.testing.LoopbackPair;
import dev.devmem.ffm.testing.NetcatPattern;
import dev.devmem.ffm.testing.RecordingEndpoint;
import dev.devmem.ffm.testing.RecordingEndpoint.Dmabuf;
import dev.devmem.ffm.testing.RecordingEndpoint.Linear;
import dev.devmem.ffm.testing.RecordingEndpoint.Other;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The receive engine over the real kernel socket of a loopback pair, with devmem answers scripted
 * where the kernel cannot give them (no devmem NIC): cmsgs are laid out as put_cmsg does; every
 * unscripted recvmsg and every DONTNEED reaches the kernel.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class DevmemSocketImplTest {
    private static final int IPPROTO_TCP = 6;
    private static final int TCP_CM_INQ = 36;
    private static final NetcatPattern PATTERN = NetcatPattern.kernelDoc();

    private final Arena arena = Arena.ofShared();
    private LoopbackPair pair;
    private RecordingEndpoint endpoint;
    private DevmemSocketImpl socket;
    private final ReceiveBatch batch = new ReceiveBatch(64);

    @BeforeEach
    void open() throws Exception {
        pair = LoopbackPair.open();
        endpoint = new RecordingEndpoint(pair.receiver());
    }

    @AfterEach
    void close() {
        if (socket != null) {
            socket.close();
        }
        pair.close();
        arena.close();
    }

    private DevmemSocketImpl socket(RxSocketOptions options, DmabufViews views) {
        socket = new DevmemSocketImpl(endpoint, options, views);
        return socket;
    }

    private DevmemSocketImpl socket() {
        return socket(RxSocketOptions.defaults(), null);
    }

    private static byte[] bytes(int n, int from) {
        return PATTERN.bytes(from, n);
    }

    @Test
    void linearAndDmabufCmsgsBecomeFragmentsInStreamOrder() throws Exception {
        MemorySegment dmabuf = arena.allocate(16384);
        PATTERN.fill(dmabuf, 0);
        DevmemSocketImpl s = socket(RxSocketOptions.defaults(), DmabufViews.of(7, dmabuf));
        endpoint.frags(new Linear(bytes(66, 0)), new Dmabuf(7, 0, 4096, 1), new Dmabuf(7, 4096, 4096, 2),
                new Other(IPPROTO_TCP, TCP_CM_INQ, new byte[4]), new Linear(bytes(10, 100)), new Dmabuf(7, 12288, 100, 3));

        assertThat(s.receive(batch)).isEqualTo(5);
        assertThat(batch.size()).isEqualTo(5);
        assertThat(batch.bytes()).isEqualTo(66 + 4096 + 4096 + 10 + 100);
        FragKind[] kinds = {FragKind.LINEAR, FragKind.DMABUF, FragKind.DMABUF, FragKind.LINEAR, FragKind.DMABUF};
        long[] positions = {0, 66, 4162, 8258, 8268};
        int[] lengths = {66, 4096, 4096, 10, 100};
        for (int i = 0; i < 5; i++) {
            assertThat(batch.kind(i)).as("kind %d", i).isEqualTo(kinds[i]);
            assertThat(batch.streamPosition(i)).as("position %d", i).isEqualTo(positions[i]);
            assertThat(batch.length(i)).as("length %d", i).isEqualTo(lengths[i]);
        }
        // LINEAR bytes are the next unread bytes of the iov: the host slab, back to back.
        assertThat(batch.offset(3)).isEqualTo(batch.offset(0) + 66);
        assertThat(batch.memory(0)).isSameAs(batch.memory(3));
        assertThat(batch.memory(0).asSlice(batch.offset(0), 66).toArray(ValueLayout.JAVA_BYTE)).isEqualTo(bytes(66, 0));
        assertThat(batch.memory(3).asSlice(batch.offset(3), 10).toArray(ValueLayout.JAVA_BYTE)).isEqualTo(bytes(10, 100));
        // DMABUF frags carry the dmabuf's host view, its offset, id and token.
        assertThat(batch.memory(1)).isSameAs(dmabuf);
        assertThat(batch.offset(2)).isEqualTo(4096);
        assertThat(batch.offset(4)).isEqualTo(12288);
        assertThat(batch.dmabufId(4)).isEqualTo(7);
        assertThat(batch.dmabufId(0)).isZero();
        assertThat(new int[] {batch.releaseKey(1), batch.releaseKey(2), batch.releaseKey(4)}).containsExactly(1, 2, 3);
        assertThat(s.outstanding()).isEqualTo(5);
        assertThat(s.streamPosition()).isEqualTo(8368);
        assertThat(s.hostSlabsInUse()).isEqualTo(1);

        // Then plain data from the kernel: one HOST frag, right after the LINEAR bytes in the slab.
        int linearKey0 = batch.releaseKey(0);
        long hostOffset = batch.offset(3) + 10;
        pair.peerSend(bytes(1000, 8368));
        assertThat(Receiving.whenReady(s, batch)).isEqualTo(1);
        assertThat(batch.kind(0)).isEqualTo(FragKind.HOST);
        assertThat(batch.streamPosition(0)).isEqualTo(8368);
        assertThat(batch.offset(0)).isEqualTo(hostOffset);
        long got = batch.length(0);
        PATTERN.verify(batch.memory(0).asSlice(batch.offset(0), batch.length(0)), 8368);

        SocketStats st = s.stats();
        assertThat(st.recvCalls()).isEqualTo(2);
        assertThat(st.fragsByKind()).containsExactly(3, 2, 1);
        assertThat(st.bytesByKind()).containsExactly(8292, 76, got);
        assertThat(st.tokensOutstanding()).isEqualTo(3);
        assertThat(st.hostOutstanding()).isEqualTo(3);

        s.release(FragKind.LINEAR, linearKey0);
        assertThat(s.outstanding()).isEqualTo(5);
    }

    @Test
    void plainDataIsOneHostFragOfEverythingReturned() throws Exception {
        DevmemSocketImpl s = socket();
        pair.peerSend(bytes(5000, 0));
        long position = 0;
        while (position < 5000) {
            assertThat(Receiving.whenReady(s, batch)).isEqualTo(1);
            assertThat(batch.kind(0)).isEqualTo(FragKind.HOST);
            assertThat(batch.streamPosition(0)).isEqualTo(position);
            PATTERN.verify(batch.memory(0).asSlice(batch.offset(0), batch.length(0)), position);
            position += batch.length(0);
            s.release(FragKind.HOST, batch.releaseKey(0));
        }
        assertThat(position).isEqualTo(5000);
        assertThat(s.outstanding()).isZero();
        assertThat(s.hostSlabsInUse()).isZero();
        // Every recvmsg asked for devmem, without blocking.
        assertThat(endpoint.offers()).allSatisfy(o ->
                assertThat(o.flags()).isEqualTo(LinuxConstants.MSG_SOCK_DEVMEM | LinuxConstants.MSG_DONTWAIT));
    }

    @Test
    void controlSpaceIsFortyBytesPerFragmentTheConsumerAllows() throws Exception {
        DevmemSocketImpl s = socket(RxSocketOptions.defaults().withMaxBatch(20), null);
        assertThat(s.receive(batch.limit(3))).isZero();
        assertThat(s.receive(batch.limit(1))).isZero();
        assertThat(s.receive(batch.limit(64))).isZero(); // capped by maxBatch 20
        assertThat(endpoint.offers()).extracting(RecordingEndpoint.Offer::controllen).containsExactly(120L, 40L, 800L);
        assertThat(endpoint.offers()).extracting(RecordingEndpoint.Offer::iovLen).containsOnly((long) RxSocketOptions.defaults().hostSlabSize());
    }

    @Test
    void eagainReturnsZeroAndUsesNoHostMemory() throws Exception {
        DevmemSocketImpl s = socket();
        assertThat(s.receive(batch)).isZero();
        assertThat(batch.size()).isZero();
        assertThat(s.streamPosition()).isZero();
        assertThat(s.hostSlabsInUse()).isZero();
        assertThat(s.stats().recvCalls()).isZero();
        assertThat(s.pollFd()).isEqualTo(pair.receiver().fd());
        // The next data still lands at the start of the slab.
        pair.peerSend(bytes(10, 0));
        assertThat(Receiving.whenReady(s, batch)).isEqualTo(1);
        assertThat(batch.offset(0)).isZero();
    }

    @Test
    void eintrIsRetried() throws Exception {
        DevmemSocketImpl s = socket();
        endpoint.errno(Errno.EINTR.number()).frags(new Dmabuf(1, 0, 10, 1));
        assertThat(s.receive(batch)).isEqualTo(1);
        assertThat(endpoint.offers()).hasSize(2);
    }

    @Test
    void anErrnoIsASyscallExceptionNamingRecvmsgDevmem() {
        DevmemSocketImpl s = socket();
        endpoint.errno(Errno.ECONNRESET.number());
        assertThatThrownBy(() -> s.receive(batch))
                .isInstanceOfSatisfying(SyscallException.class, e -> {
                    assertThat(e.operation()).isEqualTo("recvmsg(MSG_SOCK_DEVMEM)");
                    assertThat(e.errno()).isEqualTo(Errno.ECONNRESET);
                });
    }

    @Test
    void etoosmallIsAProtocolErrorNamingIt() {
        DevmemSocketImpl s = socket();
        endpoint.errno(525);
        assertThatThrownBy(() -> s.receive(batch))
                .isInstanceOf(DevmemProtocolException.class)
                .hasMessageContaining("ETOOSMALL (525)");
    }

    @Test
    void theEndOfTheStreamIsReported() throws Exception {
        DevmemSocketImpl s = socket();
        pair.peerSend(bytes(3, 0));
        pair.peerShutdown();
        assertThat(Receiving.whenReady(s, batch)).isEqualTo(1);
        assertThat(Receiving.whenReady(s, batch)).isEqualTo(DevmemSocket.END_OF_STREAM);
        assertThat(s.receive(batch)).isEqualTo(DevmemSocket.END_OF_STREAM);
    }

    @Test
    void msgCtruncIsAProtocolErrorThatExplainsTheTokenLeak() throws Exception {
        DevmemSocketImpl s = socket();
        endpoint.answer(call -> {
            long r = RecordingEndpoint.write(call, List.of(new Dmabuf(1, 0, 10, 1)));
            call.msgFlags(LinuxConstants.MSG_CTRUNC);
            return r;
        });
        assertThatThrownBy(() -> s.receive(batch))
                .isInstanceOf(DevmemProtocolException.class)
                .hasMessageContaining("MSG_CTRUNC")
                .hasMessageContaining("6.14");
        assertThat(s.outstanding()).isZero();
        // The stream position can no longer be trusted: the socket stays stopped.
        assertThatThrownBy(() -> s.receive(batch))
                .isInstanceOf(DevmemProtocolException.class)
                .hasMessageContaining("earlier protocol error");
    }

    @Test
    void fragmentSizesThatDoNotAddUpAreRejectedAndRolledBack() {
        DevmemSocketImpl s = socket();
        endpoint.answer(call -> RecordingEndpoint.write(call, List.of(new Linear(bytes(5, 0)),
                new Dmabuf(1, 0, 10, 1), new Dmabuf(1, 4096, 10, 2))) + 1);
        assertThatThrownBy(() -> s.receive(batch))
                .isInstanceOf(DevmemProtocolException.class)
                .hasMessageContaining("add up to 25 bytes but recvmsg(MSG_SOCK_DEVMEM) returned 26");
        assertThat(batch.size()).isZero();
        assertThat(s.outstanding()).isZero();
        assertThat(s.hostSlabsInUse()).isZero();
        assertThat(s.streamPosition()).isZero();
    }

    @Test
    void aFragmentLargerThanWhatRecvmsgReturnedIsRejected() {
        DevmemSocketImpl s = socket();
        endpoint.answer(call -> RecordingEndpoint.write(call, List.of(new Dmabuf(1, 0, 10, 1), new Dmabuf(1, 0, 4000, 2))) - 4000 + 5);
        assertThatThrownBy(() -> s.receive(batch))
                .isInstanceOf(DevmemProtocolException.class)
                .hasMessageContaining("has frag_size 4000, but only 5 of the 15 bytes");
        assertThat(s.outstanding()).isZero();
    }

    @Test
    void aTokenIssuedTwiceInOneCallIsRejected() {
        DevmemSocketImpl s = socket();
        endpoint.frags(new Dmabuf(1, 0, 10, 4), new Dmabuf(1, 4096, 10, 5), new Dmabuf(1, 8192, 10, 4));
        assertThatThrownBy(() -> s.receive(batch))
                .isInstanceOf(DevmemProtocolException.class)
                .hasMessageContaining("token 4 (dmabuf 1) while it is still outstanding");
        assertThat(s.outstanding()).isZero();
    }

    @Test
    void aTokenStillOutstandingFromAnEarlierCallIsRejected() throws Exception {
        DevmemSocketImpl s = socket();
        endpoint.frags(new Dmabuf(1, 0, 10, 9)).frags(new Dmabuf(1, 0, 10, 8), new Dmabuf(1, 0, 10, 9));
        assertThat(s.receive(batch)).isEqualTo(1);
        assertThatThrownBy(() -> s.receive(batch))
                .isInstanceOf(DevmemProtocolException.class)
                .hasMessageContaining("token 9");
        assertThat(s.outstanding()).isEqualTo(1);
    }

    @Test
    void aReturnedTokenMayBeIssuedAgain() throws Exception {
        DevmemSocketImpl s = socket();
        endpoint.frags(new Dmabuf(1, 0, 10, 9)).frags(new Dmabuf(1, 4096, 10, 9));
        assertThat(s.receive(batch)).isEqualTo(1);
        s.release(FragKind.DMABUF, 9);
        assertThat(s.flushReleases()).isEqualTo(1);
        assertThat(s.receive(batch)).isEqualTo(1);
        assertThat(batch.streamPosition(0)).isEqualTo(10);
        assertThat(s.outstanding()).isEqualTo(1);
    }

    @Test
    void aTokenOutsideTheKernelsRangeIsRejected() {
        DevmemSocketImpl s = socket();
        endpoint.frags(new Dmabuf(1, 0, 10, 0));
        assertThatThrownBy(() -> s.receive(batch))
                .isInstanceOf(DevmemProtocolException.class)
                .hasMessageContaining("carries token 0");
    }

    @Test
    void aDmabufFragOutsideItsHostViewIsRejected() {
        DevmemSocketImpl s = socket(RxSocketOptions.defaults(), DmabufViews.of(3, arena.allocate(8192)));
        endpoint.frags(new Dmabuf(3, 8000, 400, 1));
        assertThatThrownBy(() -> s.receive(batch))
                .isInstanceOf(DevmemProtocolException.class)
                .hasMessageContaining("lies outside its 8192-byte host view");
        assertThat(s.outstanding()).isZero();
    }

    @Test
    void aReturnLargerThanTheIovOrAControllenLargerThanOfferedIsRejected() {
        DevmemSocketImpl s = socket();
        endpoint.answer(call -> call.iov().byteSize() + 1);
        assertThatThrownBy(() -> s.receive(batch))
                .isInstanceOf(DevmemProtocolException.class)
                .hasMessageContaining("more than the iov");

        DevmemSocketImpl t = new DevmemSocketImpl(new RecordingEndpoint(endpoint).answer(call -> {
            call.controllen(call.control().byteSize() + 40);
            call.msgFlags(0);
            return 10;
        }), RxSocketOptions.defaults());
        try {
            assertThatThrownBy(() -> t.receive(batch))
                    .isInstanceOf(DevmemProtocolException.class)
                    .hasMessageContaining("more than the");
        } finally {
            t.close();
        }
    }

    @Test
    void hostSlabsArePinnedUntilReleasedAndFullSlabsStopReceiving() throws Exception {
        DevmemSocketImpl s = socket(RxSocketOptions.defaults().withHostSlabs(2, 4096), null);
        int total = 64 * 1024;
        pair.peerSend(bytes(total, 0));
        List<int[]> held = new ArrayList<>();
        long position = 0;
        while (true) {
            int n = Receiving.whenReady(s, batch);
            if (n == 0) {
                break;
            }
            assertThat(batch.streamPosition(0)).isEqualTo(position);
            PATTERN.verify(batch.memory(0).asSlice(batch.offset(0), batch.length(0)), position);
            position += batch.length(0);
            held.add(new int[] {batch.releaseKey(0)});
        }
        // Stalled: both slabs are pinned, pollFd says "only a release helps", and receive no longer
        // calls the kernel.
        assertThat(position).isBetween(8192L - 1023, 8192L);
        assertThat(s.hostSlabsInUse()).isEqualTo(2);
        assertThat(s.pollFd()).isEqualTo(-1);
        int offers = endpoint.offers().size();
        assertThat(s.receive(batch)).isZero();
        assertThat(endpoint.offers()).hasSize(offers);

        // Releasing every fragment frees the slabs; receiving resumes exactly where it stopped.
        for (int[] k : held) {
            s.release(FragKind.HOST, k[0]);
        }
        assertThat(s.hostSlabsInUse()).isZero();
        assertThat(s.pollFd()).isEqualTo(pair.receiver().fd());
        while (position < total) {
            int n = Receiving.whenReady(s, batch);
            assertThat(n).isEqualTo(1);
            assertThat(batch.streamPosition(0)).isEqualTo(position);
            PATTERN.verify(batch.memory(0).asSlice(batch.offset(0), batch.length(0)), position);
            position += batch.length(0);
            s.release(FragKind.HOST, batch.releaseKey(0));
        }
        assertThat(s.outstanding()).isZero();
    }

    @Test
    void aDoubleReleaseOfAHostFragDoesNotDropAnotherFragsReference() throws Exception {
        DevmemSocketImpl s = socket();
        endpoint.frags(new Linear(bytes(10, 0)), new Linear(bytes(10, 10)));
        assertThat(s.receive(batch)).isEqualTo(2);
        int first = batch.releaseKey(0);
        int second = batch.releaseKey(1);
        s.release(FragKind.LINEAR, first);
        s.release(FragKind.LINEAR, first);
        s.release(FragKind.HOST, second); // wrong kind
        s.release(FragKind.LINEAR, 123456);
        assertThat(s.stats().unknownReleases()).isEqualTo(3);
        assertThat(s.hostSlabsInUse()).isEqualTo(1);
        assertThat(s.outstanding()).isEqualTo(1);
        s.release(FragKind.LINEAR, second);
        assertThat(s.hostSlabsInUse()).isZero();
        assertThat(s.outstanding()).isZero();
        // A key is not reused for the next fragment in the same slot.
        endpoint.frags(new Linear(bytes(10, 20)));
        assertThat(s.receive(batch)).isEqualTo(1);
        assertThat(batch.releaseKey(0)).isNotIn(first, second);
        s.release(FragKind.LINEAR, second);
        assertThat(s.outstanding()).isEqualTo(1);
    }

    @Test
    void theHostKeyLimitStopsReceivingUntilARelease() throws Exception {
        DevmemSocketImpl s = socket(RxSocketOptions.defaults().withMaxHostFrags(2), null);
        endpoint.frags(new Linear(bytes(1, 0))).frags(new Linear(bytes(1, 1)));
        assertThat(s.receive(batch)).isEqualTo(1);
        int key = batch.releaseKey(0);
        // One key left: the control space shrinks to one fragment.
        assertThat(s.receive(batch)).isEqualTo(1);
        assertThat(endpoint.offers()).extracting(RecordingEndpoint.Offer::controllen).containsExactly(80L, 40L);
        assertThat(s.pollFd()).isEqualTo(-1);
        assertThat(s.receive(batch)).isZero();
        assertThat(endpoint.offers()).hasSize(2);
        s.release(FragKind.LINEAR, key);
        assertThat(s.pollFd()).isNotNegative();
    }

    @Test
    void closeIsIdempotentReclaimsEverythingAndClosesTheKernelSocket() throws Exception {
        DevmemSocketImpl s = socket();
        endpoint.frags(new Linear(bytes(10, 0)), new Dmabuf(1, 0, 10, 1), new Dmabuf(1, 4096, 10, 2));
        assertThat(s.receive(batch)).isEqualTo(3);
        s.release(FragKind.DMABUF, 1);
        MemorySegment slab = batch.memory(0);
        s.close();
        s.close();
        assertThat(s.outstanding()).isZero();
        assertThat(s.pendingReleases()).isZero();
        assertThat(s.hostSlabsInUse()).isZero();
        assertThat(s.stats().tokensOutstanding()).isZero();
        assertThat(s.pollFd()).isEqualTo(-1);
        assertThat(pair.receiver().fd()).isEqualTo(-1);
        assertThat(endpoint.dontneedCalls()).isEmpty(); // the kernel frees tokens with the socket
        assertThatThrownBy(() -> slab.get(ValueLayout.JAVA_BYTE, 0)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> s.receive(batch))
                .isInstanceOfSatisfying(SyscallException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EBADF));
        s.release(FragKind.DMABUF, 2);
        assertThat(s.flushReleases()).isZero();
        assertThat(s.stats().unknownReleases()).isEqualTo(1);
    }
}
