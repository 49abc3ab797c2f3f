package dev.devmem.ffm.testing;

import dev.devmem.ffm.rx.SocketEndpoint;
import dev.devmem.ffm.sys.LinuxConstants;
import dev.devmem.ffm.sys.Structs;
import dev.devmem.ffm.sys.Syscalls;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.TimeUnit;

import static dev.devmem.ffm.sys.LinuxConstants.MSG_DONTWAIT;
import static dev.devmem.ffm.sys.LinuxConstants.MSG_SOCK_DEVMEM;
import static dev.devmem.ffm.sys.LinuxConstants.SOL_SOCKET;
import static dev.devmem.ffm.sys.LinuxConstants.SO_DEVMEM_DMABUF;
import static dev.devmem.ffm.sys.LinuxConstants.SO_DEVMEM_DONTNEED;
import static dev.devmem.ffm.sys.LinuxConstants.SO_DEVMEM_LINEAR;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * What a {@link SocketEndpoint} must answer on a connected TCP socket whose flow no devmem queue
 * receives, as the real Linux 6.18 kernel answers it (ABI fact sheet §2.5 and §9, each probed
 * again by {@code LinuxSocketEndpointContractTest}).
 *
 * <p>Why a contract: the emulated devmem NIC promises to be byte-exact with the kernel, and the
 * engine above trusts both the same way. Subclass it with a {@link #connect()} for your endpoint
 * and it runs the same assertions the kernel passes: {@code SO_DEVMEM_DONTNEED} of never-issued
 * tokens frees nothing without error, its size and pointer checks give the kernel's errnos,
 * {@code get/setsockopt} of the other devmem options are {@code ENOPROTOOPT}, and
 * {@code recvmsg(MSG_SOCK_DEVMEM)} of plain data returns the bytes with no cmsg and no flags.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
public abstract class SocketEndpointContract {
    protected static final int EAGAIN = 11;
    protected static final int EFAULT = 14;
    protected static final int EINVAL = 22;
    protected static final int ENOPROTOOPT = 92;

    /** A connected TCP connection: the endpoint under test and a peer that writes into it. */
    public interface Connection extends AutoCloseable {
        /** The side under test; non-blocking; its flow is not steered to a devmem queue. */
        SocketEndpoint endpoint();

        /** Writes {@code data} from the peer. */
        void peerSend(byte[] data) throws Exception;

        /** Half-closes the peer's side. */
        void peerShutdown() throws Exception;

        @Override
        void close();
    }

    /** Opens a fresh connection for one test. */
    protected abstract Connection connect() throws Exception;

    private Connection connection;
    private Arena arena;

    @BeforeEach
    final void openConnection() throws Exception {
        connection = connect();
        arena = Arena.ofConfined();
    }

    @AfterEach
    final void closeConnection() {
        if (arena != null) {
            arena.close();
        }
        if (connection != null) {
            connection.close();
        }
    }

    protected final SocketEndpoint endpoint() {
        return connection.endpoint();
    }

    private MemorySegment tokens(int ranges, int count) {
        MemorySegment m = arena.allocate(Math.max(8, ranges * 8L), 8);
        for (int i = 0; i < ranges; i++) {
            m.set(ValueLayout.JAVA_INT, i * 8L + Structs.DMABUF_TOKEN_START, 1 + 2 * i);
            m.set(ValueLayout.JAVA_INT, i * 8L + Structs.DMABUF_TOKEN_COUNT, count);
        }
        return m;
    }

    private int dontneed(MemorySegment value, int optlen) {
        return endpoint().setsockopt(SOL_SOCKET, SO_DEVMEM_DONTNEED, value, optlen);
    }

    @Test
    void dontneedOfOneNeverIssuedTokenFreesNothing() {
        assertThat(dontneed(tokens(1, 1), 8)).isZero();
    }

    @Test
    void dontneedOf128RangesFreesNothing() {
        assertThat(dontneed(tokens(128, 1), 128 * 8)).isZero();
    }

    @Test
    void dontneedOfARangeOf100000TokensFreesNothing() {
        assertThat(dontneed(tokens(1, 100_000), 8)).isZero();
    }

    @Test
    void dontneedOf129RangesIsEinval() {
        assertThat(dontneed(tokens(129, 1), 129 * 8)).isEqualTo(-EINVAL);
    }

    @Test
    void dontneedWithOptlen12IsEinval() {
        assertThat(dontneed(tokens(2, 1), 12)).isEqualTo(-EINVAL);
    }

    @Test
    void dontneedWithOptlen4IsEinval() {
        assertThat(dontneed(tokens(1, 1), 4)).isEqualTo(-EINVAL);
    }

    @Test
    void dontneedWithOptlen0IsEinval() {
        assertThat(dontneed(tokens(1, 1), 0)).isEqualTo(-EINVAL);
    }

    @Test
    void dontneedWithNullOptvalIsEfault() {
        assertThat(dontneed(MemorySegment.NULL, 8)).isEqualTo(-EFAULT);
    }

    @Test
    void getsockoptOfEveryDevmemOptionIsEnoprotoopt() {
        MemorySegment value = arena.allocate(64, 8);
        MemorySegment len = arena.allocate(ValueLayout.JAVA_INT);
        for (int option : new int[] {SO_DEVMEM_LINEAR, SO_DEVMEM_DMABUF, SO_DEVMEM_DONTNEED}) {
            len.set(ValueLayout.JAVA_INT, 0, 64);
            assertThat(endpoint().getsockopt(SOL_SOCKET, option, value, len))
                    .as("getsockopt(SOL_SOCKET, %d)", option).isEqualTo(-ENOPROTOOPT);
        }
    }

    @Test
    void setsockoptOfLinearOrDmabufIsEnoprotoopt() {
        MemorySegment one = arena.allocate(ValueLayout.JAVA_INT);
        one.set(ValueLayout.JAVA_INT, 0, 1);
        for (int option : new int[] {SO_DEVMEM_LINEAR, SO_DEVMEM_DMABUF}) {
            assertThat(endpoint().setsockopt(SOL_SOCKET, option, one, 4))
                    .as("setsockopt(SOL_SOCKET, %d)", option).isEqualTo(-ENOPROTOOPT);
        }
    }

    @Test
    void recvmsgDevmemOfPlainDataReturnsTheBytesWithoutCmsgOrFlags() throws Exception {
        assertPlainReceive(40 * 16, true);
    }

    @Test
    void recvmsgDevmemWithNoControlBufferReturnsPlainData() throws Exception {
        assertPlainReceive(0, false);
    }

    @Test
    void recvmsgDevmemAtTheEndOfTheStreamReturnsZero() throws Exception {
        connection.peerSend(new byte[] {1, 2, 3});
        connection.peerShutdown();
        assertPlainReceive(arena.allocate(64), 3, 40, true);
        MemorySegment msg = msghdr(arena.allocate(64), 64, arena.allocate(40), 40);
        assertThat(recvWhenReady(msg)).isZero();
    }

    private void assertPlainReceive(int controlBytes, boolean withControl) throws Exception {
        NetcatPattern pattern = NetcatPattern.kernelDoc();
        int n = 100_000;
        connection.peerSend(pattern.bytes(0, n));
        MemorySegment data = arena.allocate(n);
        assertPlainReceive(data, n, controlBytes, withControl);
        pattern.verify(data, 0);
    }

    /** Receives exactly {@code n} bytes into {@code data}, asserting each call brings no cmsg and no flags. */
    private void assertPlainReceive(MemorySegment data, int n, int controlBytes, boolean withControl) throws Exception {
        MemorySegment control = withControl ? arena.allocate(Math.max(8, controlBytes), 8) : MemorySegment.NULL;
        long got = 0;
        while (got < n) {
            MemorySegment msg = msghdr(data.asSlice(got), n - got, control, controlBytes);
            long r = recvWhenReady(msg);
            assertThat(r).as("recvmsg(MSG_SOCK_DEVMEM) after %d of %d bytes", got, n).isPositive();
            assertThat(msg.get(ValueLayout.JAVA_LONG, Structs.MSGHDR_CONTROLLEN)).as("msg_controllen").isZero();
            assertThat(msg.get(ValueLayout.JAVA_INT, Structs.MSGHDR_FLAGS)).as("msg_flags").isZero();
            got += r;
        }
        assertThat(got).isEqualTo(n);
    }

    private MemorySegment msghdr(MemorySegment buf, long len, MemorySegment control, long controlLen) {
        MemorySegment iov = arena.allocate(Structs.IOVEC);
        iov.set(ValueLayout.ADDRESS, Structs.IOVEC_BASE, buf);
        iov.set(ValueLayout.JAVA_LONG, Structs.IOVEC_LEN, len);
        MemorySegment msg = arena.allocate(Structs.MSGHDR);
        msg.set(ValueLayout.ADDRESS, Structs.MSGHDR_IOV, iov);
        msg.set(ValueLayout.JAVA_LONG, Structs.MSGHDR_IOVLEN, 1);
        msg.set(ValueLayout.ADDRESS, Structs.MSGHDR_CONTROL, control);
        msg.set(ValueLayout.JAVA_LONG, Structs.MSGHDR_CONTROLLEN, controlLen);
        return msg;
    }

    /** recvmsg(MSG_SOCK_DEVMEM | MSG_DONTWAIT), waiting (poll or a short sleep) while it says EAGAIN. */
    private long recvWhenReady(MemorySegment msg) throws Exception {
        long controlLen = msg.get(ValueLayout.JAVA_LONG, Structs.MSGHDR_CONTROLLEN);
        while (true) {
            msg.set(ValueLayout.JAVA_LONG, Structs.MSGHDR_CONTROLLEN, controlLen);
            msg.set(ValueLayout.JAVA_INT, Structs.MSGHDR_FLAGS, -1);
            long r = endpoint().recvmsg(msg, MSG_SOCK_DEVMEM | MSG_DONTWAIT);
            if (r != -EAGAIN) {
                return r;
            }
            int fd = endpoint().pollFd();
            if (fd >= 0) {
                MemorySegment p = arena.allocate(Structs.POLLFD);
                p.set(ValueLayout.JAVA_INT, Structs.POLLFD_FD, fd);
                p.set(ValueLayout.JAVA_SHORT, Structs.POLLFD_EVENTS, LinuxConstants.POLLIN);
                Syscalls.poll(p, 1, 1000);
            } else {
                Thread.sleep(1);
            }
        }
    }
}
