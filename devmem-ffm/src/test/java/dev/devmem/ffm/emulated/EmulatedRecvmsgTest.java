package dev.devmem.ffm.emulated;

import dev.devmem.api.DmabufSource;
import dev.devmem.api.Errno;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

import static dev.devmem.ffm.sys.LinuxConstants.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * recvmsg(MSG_SOCK_DEVMEM) of the emulated NIC, driven with a raw msghdr in native memory, on
 * packets whose layout is deterministic: all data is queued in the real socket before the first
 * call, so each emulated skb is one read of at most maxSkbSize bytes.
 */
class EmulatedRecvmsgTest {
    private static final int DEVMEM = MSG_SOCK_DEVMEM | MSG_DONTWAIT;
    private final List<AutoCloseable> closeMe = new ArrayList<>();

    @AfterEach
    void tearDown() throws Exception {
        for (int i = closeMe.size() - 1; i >= 0; i--) {
            closeMe.get(i).close();
        }
    }

    private <T extends AutoCloseable> T track(T t) {
        closeMe.add(t);
        return t;
    }

    record Setup(EmulatedNic nic, EmulatedRxBinding binding, Loopback wire, EmulatedEndpoint socket) {
    }

    /** 64-byte frags, 200-byte skbs, a 64-buffer dmabuf bound to queue 0, and a flow steered there. */
    private Setup setup(EmulatedNicConfig config) throws Exception {
        EmulatedNic nic = track(EmulatedNic.create(config));
        EmulatedRxBinding binding = track(nic.bindRx(List.of(0), DmabufSource.emulated(64L * config.fragSize())));
        Loopback wire = track(Loopback.open());
        EmulatedEndpoint socket = track(nic.attach(wire.takeReceiver(), 0));
        return new Setup(nic, binding, wire, socket);
    }

    private static EmulatedNicConfig small() {
        return EmulatedNicConfig.defaults().withFragSize(64).withMaxSkbSize(200);
    }

    private static byte[] bytes(int n, int seed) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) (i * 7 + seed);
        }
        return b;
    }

    /** One cmsg as the ABI fact sheet lays it out (§2.2): cmsghdr{len u64, level i32, type i32} + dmabuf_cmsg, little-endian. */
    private static String cmsgHex(int type, long offset, int size, int token, int id) {
        return le(40, 8) + le(1, 4) + le(type, 4) + le(offset, 8) + le(size, 4) + le(token, 4) + le(id, 4) + le(0, 4);
    }

    private static String le(long v, int bytes) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < bytes; i++) {
            sb.append(String.format("%02x", (v >>> (8 * i)) & 0xFF));
        }
        return sb.toString();
    }

    private static byte[] dmabuf(EmulatedRxBinding b, long offset, int len) {
        return b.hostView().orElseThrow().asSlice(offset, len).toArray(ValueLayout.JAVA_BYTE);
    }

    private static byte[] slice(byte[] a, int from, int len) {
        byte[] r = new byte[len];
        System.arraycopy(a, from, r, 0, len);
        return r;
    }

    @Test
    void goldenControlBufferForDmabufFragsInStreamOrder() throws Exception {
        Setup s = setup(small());
        byte[] sent = bytes(300, 3);
        s.wire.send(sent);
        s.wire.awaitQueued(300);
        Msg m = track(new Msg(1000, 1000));

        long r = m.recv(s.socket, DEVMEM);

        int id = s.binding.id();
        // skb 1 (200 B): buffers 0..3 -> 64, 64, 64, 8; skb 2 (100 B): buffers 4, 5 -> 64, 36.
        String expected = cmsgHex(SCM_DEVMEM_DMABUF, 0, 64, 1, id)
                + cmsgHex(SCM_DEVMEM_DMABUF, 64, 64, 2, id)
                + cmsgHex(SCM_DEVMEM_DMABUF, 128, 64, 3, id)
                + cmsgHex(SCM_DEVMEM_DMABUF, 192, 8, 4, id)
                + cmsgHex(SCM_DEVMEM_DMABUF, 256, 64, 5, id)
                + cmsgHex(SCM_DEVMEM_DMABUF, 320, 36, 6, id);
        assertThat(r).isEqualTo(300);
        assertThat(m.controlLen()).isEqualTo(6 * 40);
        assertThat(HexFormat.of().formatHex(m.controlBytes())).isEqualTo(expected);
        assertThat(m.flags()).isZero();
        // every byte is in "device memory" at the frag offsets, in stream order
        int pos = 0;
        for (Msg.Cmsg c : m.cmsgs()) {
            assertThat(dmabuf(s.binding, c.fragOffset(), c.fragSize())).isEqualTo(slice(sent, pos, c.fragSize()));
            pos += c.fragSize();
        }
        assertThat(pos).isEqualTo(300);
        assertThat(s.socket.tokensOutstanding()).isEqualTo(6);
        assertThat(s.binding.buffersHeld()).isEqualTo(6);

        assertThat(Msg.dontneed(s.socket, 1, 6)).isEqualTo(6);
        assertThat(s.socket.tokensOutstanding()).isZero();
        assertThat(s.binding.buffersHeld()).isZero();
        assertThat(s.binding.buffersFree()).isEqualTo(64);
    }

    @Test
    void goldenControlBufferWithLinearPartFromAFailedHeaderSplit() throws Exception {
        Setup s = setup(small().withHeaderSplitFailures(1.0, 7).withHeaderBufferSize(16));
        byte[] sent = bytes(200, 11);
        s.wire.send(sent);
        s.wire.awaitQueued(200);
        Msg m = track(new Msg(1000, 1000));

        long r = m.recv(s.socket, DEVMEM);

        int id = s.binding.id();
        String expected = cmsgHex(SCM_DEVMEM_LINEAR, 0, 16, 0, 0)
                + cmsgHex(SCM_DEVMEM_DMABUF, 0, 64, 1, id)
                + cmsgHex(SCM_DEVMEM_DMABUF, 64, 64, 2, id)
                + cmsgHex(SCM_DEVMEM_DMABUF, 128, 56, 3, id);
        assertThat(r).isEqualTo(200);
        assertThat(HexFormat.of().formatHex(m.controlBytes())).isEqualTo(expected);
        assertThat(m.data.asSlice(0, 16).toArray(ValueLayout.JAVA_BYTE)).isEqualTo(slice(sent, 0, 16));
        assertThat(dmabuf(s.binding, 0, 64)).isEqualTo(slice(sent, 16, 64));
        assertThat(dmabuf(s.binding, 128, 56)).isEqualTo(slice(sent, 144, 56));
        assertThat(s.socket.stats().headerSplitFailures()).isEqualTo(1);
        assertThat(s.nic.stats().headerSplitFailures()).isEqualTo(1);
        assertThat(s.socket.stats().linearBytes()).isEqualTo(16);
    }

    @Test
    void controlBufferTooSmallFailsWith525WhenNothingFitsAndLeavesTheMsghdrAlone() throws Exception {
        Setup s = setup(small());
        s.wire.send(bytes(200, 1));
        s.wire.awaitQueued(200);
        Msg m = track(new Msg(1000, 1000));

        assertThat(m.reset(1000, 39).recv(s.socket, DEVMEM)).isEqualTo(-EmulatedEndpoint.ETOOSMALL);
        assertThat(m.controlLen()).isEqualTo(39);
        assertThat(m.reset(1000, 0).recv(s.socket, DEVMEM)).isEqualTo(-525); // NULL control
        assertThat(s.socket.tokensOutstanding()).isZero();

        // room for two cmsgs: a short read, the rest stays queued
        assertThat(m.reset(1000, 80).recv(s.socket, DEVMEM)).isEqualTo(128);
        assertThat(m.controlLen()).isEqualTo(80);
        assertThat(m.cmsgs()).extracting(Msg.Cmsg::token).containsExactly(1, 2);
        assertThat(m.reset(1000, 1000).recv(s.socket, DEVMEM)).isEqualTo(72);
        assertThat(m.cmsgs()).extracting(Msg.Cmsg::fragOffset, Msg.Cmsg::fragSize, Msg.Cmsg::token)
                .containsExactly(org.assertj.core.groups.Tuple.tuple(128L, 64, 3),
                        org.assertj.core.groups.Tuple.tuple(192L, 8, 4));
    }

    @Test
    void theIovLengthSplitsAFragAndEveryPieceGetsItsOwnToken() throws Exception {
        Setup s = setup(small());
        byte[] sent = bytes(200, 5);
        s.wire.send(sent);
        s.wire.awaitQueued(200);
        Msg m = track(new Msg(1000, 1000));

        assertThat(m.reset(100, 1000).recv(s.socket, DEVMEM)).isEqualTo(100);
        assertThat(m.cmsgs()).extracting(Msg.Cmsg::fragOffset, Msg.Cmsg::fragSize, Msg.Cmsg::token)
                .containsExactly(org.assertj.core.groups.Tuple.tuple(0L, 64, 1),
                        org.assertj.core.groups.Tuple.tuple(64L, 36, 2));
        assertThat(m.reset(1000, 1000).recv(s.socket, DEVMEM)).isEqualTo(100);
        assertThat(m.cmsgs()).extracting(Msg.Cmsg::fragOffset, Msg.Cmsg::fragSize, Msg.Cmsg::token)
                .containsExactly(org.assertj.core.groups.Tuple.tuple(100L, 28, 3),
                        org.assertj.core.groups.Tuple.tuple(128L, 64, 4),
                        org.assertj.core.groups.Tuple.tuple(192L, 8, 5));
        assertThat(dmabuf(s.binding, 100, 28)).isEqualTo(slice(sent, 100, 28));

        // tokens 2 and 3 both pin buffer 1: it comes back only with the second
        assertThat(s.binding.buffersHeld()).isEqualTo(4);
        assertThat(Msg.dontneed(s.socket, 2, 1)).isEqualTo(1);
        assertThat(s.binding.buffersHeld()).isEqualTo(4);
        assertThat(Msg.dontneed(s.socket, 3, 1)).isEqualTo(1);
        assertThat(s.binding.buffersHeld()).isEqualTo(3);

        // freed ids are reused lowest first: 2, 3, then 6, 7
        s.wire.send(bytes(200, 9));
        s.wire.awaitQueued(200);
        assertThat(m.reset(1000, 1000).recv(s.socket, DEVMEM)).isEqualTo(200);
        assertThat(m.cmsgs()).extracting(Msg.Cmsg::token).containsExactly(2, 3, 6, 7);
    }

    @Test
    void devmemDataWithoutMsgSockDevmemIsEfaultAndStaysQueued() throws Exception {
        Setup s = setup(small());
        s.wire.send(bytes(200, 2));
        s.wire.awaitQueued(200);
        Msg m = track(new Msg(1000, 1000));

        assertThat(m.recv(s.socket, MSG_DONTWAIT)).isEqualTo(-Errno.EFAULT.number());
        assertThat(m.controlLen()).isEqualTo(1000);
        assertThat(m.recv(s.socket, DEVMEM)).isEqualTo(200);
    }

    @Test
    void peekIssuesTokensWithoutConsumingAndTruncDiscardsWithoutTokens() throws Exception {
        Setup s = setup(small());
        s.wire.send(bytes(200, 4));
        s.wire.awaitQueued(200);
        Msg m = track(new Msg(1000, 1000));

        assertThat(m.recv(s.socket, DEVMEM | MSG_PEEK)).isEqualTo(200);
        assertThat(m.cmsgs()).extracting(Msg.Cmsg::token).containsExactly(1, 2, 3, 4);
        assertThat(m.reset(1000, 1000).recv(s.socket, DEVMEM)).isEqualTo(200);
        assertThat(m.cmsgs()).extracting(Msg.Cmsg::fragOffset).containsExactly(0L, 64L, 128L, 192L);
        assertThat(m.cmsgs()).extracting(Msg.Cmsg::token).containsExactly(5, 6, 7, 8);
        assertThat(Msg.dontneed(s.socket, 1, 8)).isEqualTo(8);

        s.wire.send(bytes(200, 4));
        s.wire.awaitQueued(200);
        assertThat(m.reset(1000, 1000).recv(s.socket, DEVMEM | MSG_TRUNC)).isEqualTo(200);
        assertThat(m.controlLen()).isZero();
        assertThat(s.socket.tokensOutstanding()).isZero();
        assertThat(s.binding.buffersFree()).isEqualTo(64);
    }

    @Test
    void readableAndDevmemSkbsNeverShareACall() throws Exception {
        // 10-byte packets: a failed split puts all 10 in the 16-byte header buffer (a readable skb),
        // a good one puts them in one frag (a devmem skb). The seed decides the sequence.
        Setup s = setup(EmulatedNicConfig.defaults().withFragSize(64).withMaxSkbSize(10)
                .withHeaderBufferSize(16).withHeaderSplitFailures(0.5, 42));
        byte[] sent = bytes(600, 8);
        s.wire.send(sent);
        s.wire.awaitQueued(600);
        Msg m = track(new Msg(1000, 64 * 40));
        byte[] got = new byte[600];
        int pos = 0;
        Boolean lastWasDevmem = null;
        int kindChanges = 0;
        while (pos < 600) {
            long r = m.reset(1000, 64 * 40).recv(s.socket, DEVMEM);
            assertThat(r).isPositive();
            List<Msg.Cmsg> cs = m.cmsgs();
            boolean devmem = !cs.isEmpty();
            if (devmem) {
                assertThat(cs).allMatch(c -> c.type() == SCM_DEVMEM_DMABUF);
                assertThat(cs.stream().mapToLong(Msg.Cmsg::fragSize).sum()).isEqualTo(r);
                for (Msg.Cmsg c : cs) {
                    System.arraycopy(dmabuf(s.binding, c.fragOffset(), c.fragSize()), 0, got, pos, c.fragSize());
                    pos += c.fragSize();
                }
                assertThat(Msg.dontneed(s.socket, cs.getFirst().token(), cs.size())).isEqualTo(cs.size());
            } else {
                MemorySegment.copy(m.data, ValueLayout.JAVA_BYTE, 0, got, pos, (int) r);
                pos += (int) r;
            }
            if (lastWasDevmem != null) {
                assertThat(devmem).as("a call ends where the kind changes").isNotEqualTo(lastWasDevmem);
                kindChanges++;
            }
            lastWasDevmem = devmem;
        }
        assertThat(got).isEqualTo(sent);
        assertThat(kindChanges).isGreaterThan(5);
        assertThat(s.socket.stats().headerSplitFailures()).isBetween(10L, 50L);
        assertThat(s.socket.stats().plainBytes() + s.socket.stats().dmabufBytes()).isEqualTo(600);
    }

    @Test
    void aFlowOnAQueueWithoutDmabufIsPlainDataLikeTheKernelsAnswer() throws Exception {
        EmulatedNic nic = track(EmulatedNic.create(small()));
        track(nic.bindRx(List.of(0), DmabufSource.emulated(4096)));
        byte[] sent = bytes(5000, 6);
        try (Loopback emulatedWire = Loopback.open(); Loopback kernelWire = Loopback.open()) {
            EmulatedEndpoint emulated = track(nic.attach(emulatedWire.takeReceiver(), 1));
            KernelEndpoint kernel = track(new KernelEndpoint(kernelWire.takeReceiver()));
            for (var pair : List.of(new Object[]{emulatedWire, emulated}, new Object[]{kernelWire, kernel})) {
                Loopback wire = (Loopback) pair[0];
                dev.devmem.ffm.rx.SocketEndpoint e = (dev.devmem.ffm.rx.SocketEndpoint) pair[1];
                wire.send(sent);
                wire.awaitQueued(sent.length);
                Msg m = track(new Msg(8192, 400));
                assertThat(m.recv(e, DEVMEM)).as(e.toString()).isEqualTo(5000);
                assertThat(m.controlLen()).isZero();
                assertThat(m.flags()).isZero();
                assertThat(m.data.asSlice(0, 5000).toArray(ValueLayout.JAVA_BYTE)).isEqualTo(sent);
                assertThat(m.reset(8192, 400).recv(e, DEVMEM)).isEqualTo(-Errno.EAGAIN.number());
                wire.shutdownSender();
                Loopback.awaitReadable(e.pollFd());
                assertThat(m.reset(8192, 400).recv(e, DEVMEM)).isZero();
            }
            assertThat(emulated.stats().plainBytes()).isEqualTo(5000);
            assertThat(emulated.tokensOutstanding()).isZero();
        }
    }

    @Test
    void endOfStreamAfterDevmemDataAndCloseReleasesEveryToken() throws Exception {
        Setup s = setup(small());
        s.wire.send(bytes(300, 1));
        s.wire.shutdownSender();
        s.wire.awaitQueued(300);
        Msg m = track(new Msg(1000, 1000));
        assertThat(m.recv(s.socket, DEVMEM)).isEqualTo(300);
        assertThat(m.reset(1000, 1000).recv(s.socket, DEVMEM)).isZero();
        assertThat(s.binding.buffersHeld()).isEqualTo(6);
        s.socket.close();
        assertThat(s.binding.buffersHeld()).isZero();
        assertThat(s.nic.stats().tokensOutstanding()).isZero();
        assertThat(m.reset(1000, 1000).recv(s.socket, DEVMEM)).isEqualTo(-Errno.EBADF.number());
    }
}
