package dev.devmem.ffm.testing;

import dev.devmem.api.DevmemException;
import dev.devmem.api.Errno;
import dev.devmem.api.SyscallException;
import dev.devmem.api.spi.DevmemBackend;
import dev.devmem.api.spi.DevmemListener;
import dev.devmem.api.spi.DevmemSocket;
import dev.devmem.api.spi.IoWaiter;
import dev.devmem.api.spi.Pollable;
import dev.devmem.api.spi.ReceiveBatch;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

/**
 * What a backend's receive path must do when the peer misbehaves, as this host's kernel does it:
 * the same assertions over the Linux backend (the kernel's own sockets on loopback) and the
 * emulated devmem NIC (DMABUF frags from a bound queue), in the manner of
 * {@link SocketEndpointContract}.
 *
 * <p>What the kernel does (probed on Linux 6.18, {@code tcp_recvmsg_locked}): the bytes queued before
 * a reset are delivered first, the call that would block after them fails once with
 * {@code ECONNRESET} ({@code sock_error} clears it), and every later call returns 0. A peer that
 * reset while still in the accept backlog is accepted all the same, with its address (accept asks
 * with {@code peer = 2}; {@code getpeername} would say ENOTCONN), and its first recvmsg says
 * {@code ECONNRESET}. A FIN, even one followed by a reset, is a clean end ({@code SOCK_DONE} is
 * checked before {@code sk_err}).
 *
 * <p>Every test validates every delivered byte at its stream position, releases every frag, and ends
 * with nothing outstanding on the socket and nothing held by the backend.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
public abstract class PeerFaultContract {
    protected static final NetcatPattern PATTERN = NetcatPattern.kernelDoc();

    /** A fresh backend for one test, with whatever binding makes its receive path the interesting one. */
    protected abstract DevmemBackend openBackend() throws Exception;

    /** The rx buffer (frag) size of the backend's dmabuf path, for the mid-frag cases. */
    protected abstract int fragSize();

    /** Asserts that the backend holds nothing for closed sockets (tokens, buffers); called after each test. */
    protected void assertNothingHeld() {
    }

    /** Closes what {@link #openBackend()} opened. */
    protected abstract void closeBackend();

    private DevmemBackend backend;
    private DevmemListener listener;
    private IoWaiter waiter;

    @BeforeEach
    final void open() throws Exception {
        backend = openBackend();
        listener = backend.listen(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
        waiter = backend.newIoWaiter();
    }

    @AfterEach
    final void close() throws Exception {
        if (listener != null) {
            listener.close();
        }
        if (waiter != null) {
            waiter.close();
        }
        try {
            assertNothingHeld();
        } finally {
            closeBackend();
        }
    }

    protected final DevmemBackend backend() {
        return backend;
    }

    // ------------------------------------------------------------------------------------ cases

    @Test
    void aPeerThatResetsBeforeTheAcceptIsAcceptedWithItsAddressAndFailsWithEconnresetOnce() throws Exception {
        FaultPeer peer = FaultPeer.connect(listener.localAddress(), PATTERN);
        InetSocketAddress peerAddress = peer.localAddress();
        peer.reset();
        try (DevmemSocket s = accept()) {
            assertThat(s.remoteAddress()).as("the peer's address, from accept").isEqualTo(peerAddress);
            assertThat(s.localAddress().getPort()).isEqualTo(listener.localAddress().getPort());
            End end = drain(s, 0);
            assertThat(end.bytes).isZero();
            assertReset(end);
            assertThat(drain(s, 0).eof).as("after the reset: the end of the stream").isTrue();
            assertThat(s.outstanding()).isZero();
        }
        // the listener is unharmed: the next connection streams to its end
        assertGoodConnection(200_000);
    }

    @Test
    void aResetMidStreamDeliversEveryQueuedByteThenEconnresetOnceThenTheEnd() throws Exception {
        assertResetAfter(3L * fragSize() * 17 + 12_345);
    }

    @Test
    void aResetBehindSeveralQueuedFragsDeliversThemAllThenEconnreset() throws Exception {
        assertResetAfter(9L * fragSize() + 123);
    }

    @Test
    void aResetInTheMiddleOfAFragDeliversThePartialFragThenEconnreset() throws Exception {
        assertResetAfter(fragSize() + fragSize() / 3);
    }

    @Test
    void aResetBeforeTheFirstFragFillsDeliversTheShortFragThenEconnreset() throws Exception {
        assertResetAfter(fragSize() / 2 + 1);
    }

    @Test
    void aResetReadTwoFragsPerCallStillDeliversEverythingQueuedFirst() throws Exception {
        // Control space for two cmsgs per call (on a devmem queue): short reads, the rest and the
        // reset wait queued.
        long bytes = 8L * fragSize() + 100;
        try (FaultPeer peer = FaultPeer.connect(listener.localAddress(), PATTERN); DevmemSocket s = accept()) {
            peer.send(bytes);
            peer.awaitAcknowledged();
            peer.reset();
            End end = drain(s, 0, 2);
            assertThat(end.bytes).isEqualTo(bytes);
            assertReset(end);
            assertThat(drain(s, bytes).eof).isTrue();
            assertThat(s.outstanding()).isZero();
        }
    }

    @Test
    void aFinShortOfWhatTheReceiverWantedIsACleanEndAfterEveryByte() throws Exception {
        long bytes = 5L * fragSize() + 7;
        try (FaultPeer peer = FaultPeer.connect(listener.localAddress(), PATTERN); DevmemSocket s = accept()) {
            FaultPeer.Acting acting = peer.act(p -> {
                p.send(bytes);
                p.shutdownOutput();
            });
            End end = drain(s, 0);
            acting.join();
            assertThat(end.bytes).isEqualTo(bytes);
            assertThat(end.error).isNull();
            assertThat(end.eof).isTrue();
            assertThat(drain(s, bytes).eof).as("the end stays the end").isTrue();
            assertThat(s.outstanding()).isZero();
        }
    }

    @Test
    void aFinFollowedByAResetIsStillACleanEnd() throws Exception {
        long bytes = 3L * fragSize() + 5;
        try (FaultPeer peer = FaultPeer.connect(listener.localAddress(), PATTERN); DevmemSocket s = accept()) {
            FaultPeer.Acting acting = peer.act(p -> {
                p.send(bytes);
                p.shutdownOutput();
                p.awaitAcknowledged();
                p.reset();
            });
            End end = drain(s, 0);
            acting.join();
            assertThat(end.bytes).isEqualTo(bytes);
            assertThat(end.error).as("SOCK_DONE before sk_err: no ECONNRESET after a FIN").isNull();
            assertThat(end.eof).isTrue();
            assertThat(s.outstanding()).isZero();
        }
    }

    @Test
    void aHalfClosingPeerKeepsReadingAndSeesOurFinAfterEveryByte() throws Exception {
        long bytes = 4L * fragSize() + 1;
        try (FaultPeer peer = FaultPeer.connect(listener.localAddress(), PATTERN); DevmemSocket s = accept()) {
            FaultPeer.Acting acting = peer.act(p -> {
                p.send(bytes);
                p.shutdownOutput();
            });
            End end = drain(s, 0);
            acting.join();
            assertThat(end.bytes).isEqualTo(bytes);
            assertThat(end.eof).isTrue();
            assertThat(end.error).isNull();
            s.shutdownOutput(); // our FIN: the peer, still reading, sees a clean end, not a reset
            try (Arena a = Arena.ofConfined()) {
                assertThat(peer.read(a.allocate(16)))
                        .as("the peer's read after our FIN (-11: neither data nor the end within %d ms)",
                                FaultPeer.READ_WAIT_MILLIS).isZero();
            }
            assertThat(s.outstanding()).isZero();
        }
    }

    // ------------------------------------------------------------------------------------ helpers

    /**
     * The peer sends {@code bytes}, waits until the receiving kernel holds all of them, and resets.
     * Up to {@link #QUEUED_BEFORE_READING} bytes this all happens before the first receive, so
     * the reset waits behind queued data, deterministically; more is read while the peer sends.
     */
    private void assertResetAfter(long bytes) throws Exception {
        try (FaultPeer peer = FaultPeer.connect(listener.localAddress(), PATTERN); DevmemSocket s = accept()) {
            FaultPeer.Action sendThenReset = p -> {
                p.send(bytes);
                p.awaitAcknowledged(); // every byte is in the receiving kernel: the reset discards none
                p.reset();
            };
            End end;
            if (bytes <= QUEUED_BEFORE_READING) {
                sendThenReset.run(peer);
                end = drain(s, 0);
            } else {
                FaultPeer.Acting acting = peer.act(sendThenReset);
                end = drain(s, 0);
                acting.join();
            }
            assertThat(end.bytes).as("every byte queued before the reset").isEqualTo(bytes);
            assertReset(end);
            assertThat(drain(s, bytes).eof).as("after the reset: the end of the stream").isTrue();
            assertThat(s.outstanding()).isZero();
        }
        assertGoodConnection(64_000);
    }

    /** Fits the default receive window of a loopback socket with room to spare. */
    private static final long QUEUED_BEFORE_READING = 48 << 10;

    private static void assertReset(End end) {
        assertThat(end.eof).as("a reset is not a clean end").isFalse();
        assertThat(end.error).isInstanceOf(SyscallException.class);
        SyscallException e = (SyscallException) end.error;
        assertThat(e.errno()).isEqualTo(Errno.ECONNRESET);
        assertThat(e.operation()).contains("recvmsg");
    }

    private void assertGoodConnection(long bytes) throws Exception {
        try (FaultPeer peer = FaultPeer.connect(listener.localAddress(), PATTERN); DevmemSocket s = accept()) {
            FaultPeer.Acting acting = peer.act(p -> {
                p.send(bytes);
                p.shutdownOutput();
            });
            End end = drain(s, 0);
            acting.join();
            assertThat(end.bytes).isEqualTo(bytes);
            assertThat(end.eof).isTrue();
            assertThat(s.outstanding()).isZero();
        }
    }

    /** Accepts the next connection, waiting for it. */
    protected final DevmemSocket accept() throws DevmemException {
        Pollable[] one = {listener};
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < deadline) {
            DevmemSocket s = listener.accept();
            if (s != null) {
                return s;
            }
            waiter.await(one, 1, TimeUnit.MILLISECONDS.toNanos(200));
        }
        return fail("no connection to accept");
    }

    /** How a drain ended: the bytes it validated, and either the end of the stream or the error. */
    protected record End(long bytes, boolean eof, DevmemException error, int calls) {
    }

    protected final End drain(DevmemSocket s, long from) throws Exception {
        return drain(s, from, 256);
    }

    /**
     * Receives until the end of the stream or an error, at most {@code perCall} frags per receive,
     * checking each frag's stream position and bytes, releasing every frag once validated.
     */
    protected final End drain(DevmemSocket s, long from, int perCall) throws Exception {
        ReceiveBatch batch = new ReceiveBatch(perCall);
        Pollable[] one = {s};
        long at = from;
        int calls = 0;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            int n;
            try {
                n = s.receive(batch);
            } catch (DevmemException e) {
                return new End(at - from, false, e, calls);
            }
            if (n == DevmemSocket.END_OF_STREAM) {
                return new End(at - from, true, null, calls);
            }
            calls++;
            if (n == 0) {
                waiter.await(one, 1, TimeUnit.MILLISECONDS.toNanos(200));
                continue;
            }
            for (int i = 0; i < n; i++) {
                assertThat(batch.streamPosition(i)).as("stream position of frag %d", i).isEqualTo(at);
                MemorySegment bytes = batch.memory(i).asSlice(batch.offset(i), batch.length(i));
                PATTERN.verify(bytes, at);
                at += batch.length(i);
                s.release(batch.kind(i), batch.releaseKey(i));
            }
            s.flushReleases();
        }
        return fail("the stream neither ended nor failed after " + (at - from) + " bytes");
    }
}
