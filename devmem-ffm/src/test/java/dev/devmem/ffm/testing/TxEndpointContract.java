package dev.devmem.ffm.testing;

import dev.devmem.ffm.rx.SocketEndpoint;
import dev.devmem.ffm.sys.LinuxConstants;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static dev.devmem.ffm.sys.LinuxConstants.MSG_DONTWAIT;
import static dev.devmem.ffm.sys.LinuxConstants.MSG_ZEROCOPY;
import static dev.devmem.ffm.sys.LinuxConstants.SCM_DEVMEM_DMABUF;
import static dev.devmem.ffm.sys.LinuxConstants.SOL_SOCKET;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * What the send side of a {@link SocketEndpoint} must answer for devmem TX where the real Linux 6.18
 * kernel of a host without a devmem NIC can answer (ABI fact sheet §3 and §9): the checks of
 * {@code sendmsg} with an {@code SCM_DEVMEM_DMABUF} cmsg naming no TX binding, the numbering of
 * zerocopy sends (one per send that took bytes, none for a failure), and the completion notices of
 * the error queue, byte for byte per address family.
 *
 * <p>Why: the emulated NIC answers the devmem sends the kernel here cannot, and is trusted to be the
 * kernel where both can answer. Subclass it with a {@link #connect} for your endpoint.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
public abstract class TxEndpointContract {
    protected static final int EFAULT = 14;
    protected static final int EINVAL = 22;
    protected static final int EMSGSIZE = 90;
    /** Far from any id the kernel-wide allocator (cyclic from 1) hands out in a test run. */
    protected static final int UNKNOWN_ID = 0xFFFF_FFF0;
    private static final int ZC = MSG_ZEROCOPY | MSG_DONTWAIT;
    private static final int WAIT_MS = 10_000;

    /** A connection whose sending side is the endpoint under test. */
    public interface Connection extends AutoCloseable {
        SocketEndpoint sender();

        TxWire wire();

        @Override
        void close();
    }

    /** The endpoint under test over {@code wire}'s sender (which it takes). */
    protected abstract Connection connect(TxWire wire) throws Exception;

    private final Arena arena = Arena.ofShared();
    private Connection connection;

    private Connection open(TxWire wire) throws Exception {
        connection = connect(wire);
        return connection;
    }

    @AfterEach
    final void closeAll() {
        if (connection != null) {
            connection.close();
        }
        arena.close();
    }

    protected static void setZerocopy(SocketEndpoint e, int on) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(ValueLayout.JAVA_INT);
            v.set(ValueLayout.JAVA_INT, 0, on);
            assertThat(e.setsockopt(SOL_SOCKET, LinuxConstants.SO_ZEROCOPY, v, 4)).isZero();
        }
    }

    private MemorySegment data(int n) {
        MemorySegment d = arena.allocate(n, 4096);
        for (int i = 0; i < n; i++) {
            d.set(ValueLayout.JAVA_BYTE, i, (byte) (i * 7 + 1));
        }
        return d;
    }

    private TxMsg idMsg(int id, long base, long len) {
        return new TxMsg(arena).single(base, len).devmemId(id);
    }

    @Test
    void aDevmemIdWithoutSoZerocopyIsEinval() throws Exception {
        Connection c = open(TxWire.v4());
        assertThat(idMsg(UNKNOWN_ID, 0, 100).send(c.sender(), ZC)).isEqualTo(-EINVAL);
    }

    @Test
    void anIdNoTxBindingHasIsEinval() throws Exception {
        Connection c = open(TxWire.v4());
        setZerocopy(c.sender(), 1);
        assertThat(idMsg(UNKNOWN_ID, 0, 100).send(c.sender(), ZC)).isEqualTo(-EINVAL);
    }

    @Test
    void aDevmemIdWithoutMsgZerocopyIsEinval() throws Exception {
        Connection c = open(TxWire.v4());
        setZerocopy(c.sender(), 1);
        assertThat(idMsg(UNKNOWN_ID, 0, 100).send(c.sender(), MSG_DONTWAIT)).isEqualTo(-EINVAL);
    }

    @Test
    void aU64IdIsEinval() throws Exception {
        Connection c = open(TxWire.v4());
        setZerocopy(c.sender(), 1);
        TxMsg m = new TxMsg(arena).single(0, 100);
        m.control(24, 24).other(SOL_SOCKET, SCM_DEVMEM_DMABUF, TxMsg.u64(UNKNOWN_ID));
        assertThat(m.send(c.sender(), ZC)).isEqualTo(-EINVAL);
    }

    @Test
    void aCmsgLenBelowTheHeaderIsEinval() throws Exception {
        Connection c = open(TxWire.v4());
        setZerocopy(c.sender(), 1);
        MemorySegment d = data(64);
        TxMsg m = new TxMsg(arena).single(d.address(), 64);
        m.control(24, 24).header(8, SOL_SOCKET, SCM_DEVMEM_DMABUF);
        assertThat(m.send(c.sender(), ZC)).isEqualTo(-EINVAL);
    }

    @Test
    void aCmsgRunningPastMsgControllenIsEinval() throws Exception {
        Connection c = open(TxWire.v4());
        setZerocopy(c.sender(), 1);
        MemorySegment d = data(64);
        TxMsg m = new TxMsg(arena).single(d.address(), 64);
        m.control(64, 24).header(40, SOL_SOCKET, SCM_DEVMEM_DMABUF);
        assertThat(m.send(c.sender(), ZC)).isEqualTo(-EINVAL);
    }

    @Test
    void anUnknownSolSocketCmsgBesideTheIdIsEinval() throws Exception {
        Connection c = open(TxWire.v4());
        setZerocopy(c.sender(), 1);
        MemorySegment d = data(64);
        TxMsg m = new TxMsg(arena).single(d.address(), 64);
        m.control(64, 48).other(SOL_SOCKET, SCM_DEVMEM_DMABUF, TxMsg.u32(0)).other(SOL_SOCKET, 99, TxMsg.u32(1));
        assertThat(m.send(c.sender(), ZC)).isEqualTo(-EINVAL);
    }

    @Test
    void moreThan1024IovsIsEmsgsizeBeforeTheCmsgIsLookedAt() throws Exception {
        Connection c = open(TxWire.v4());
        setZerocopy(c.sender(), 1);
        TxMsg m = new TxMsg(arena).iovs(1025);
        for (int i = 0; i < 1025; i++) {
            m.iov(i, i * 16L, 16);
        }
        m.devmemId(UNKNOWN_ID);
        assertThat(m.send(c.sender(), ZC)).isEqualTo(-EMSGSIZE);
    }

    @Test
    void aNegativeIovLengthIsEinval() throws Exception {
        Connection c = open(TxWire.v4());
        setZerocopy(c.sender(), 1);
        assertThat(idMsg(UNKNOWN_ID, 0, -1).send(c.sender(), ZC)).isEqualTo(-EINVAL);
    }

    @Test
    void idZeroIsAnOrdinaryZerocopySendOfHostMemory() throws Exception {
        Connection c = open(TxWire.v4());
        setZerocopy(c.sender(), 1);
        MemorySegment d = data(1000);
        assertThat(idMsg(0, d.address(), 1000).send(c.sender(), ZC)).isEqualTo(1000);
        assertThat(c.wire().readExactly(1000)).isEqualTo(d.toArray(ValueLayout.JAVA_BYTE));
        List<ErrqueueNotice> notices = ErrqueueNotice.awaitCovering(c.sender(), 1, WAIT_MS);
        assertThat(notices).hasSize(1);
        assertThat(notices.get(0).lo()).isZero();
        assertThat(notices.get(0).hi()).isZero();
        assertThat(notices.get(0).code()).as("loopback copies").isEqualTo(LinuxConstants.SO_EE_CODE_ZEROCOPY_COPIED);
    }

    @Test
    void failedSendsSpendNoSendNumberAndPlainSendsNone() throws Exception {
        Connection c = open(TxWire.v4());
        setZerocopy(c.sender(), 1);
        MemorySegment d = data(300);
        assertThat(idMsg(UNKNOWN_ID, 0, 100).send(c.sender(), ZC)).isEqualTo(-EINVAL);
        assertThat(idMsg(UNKNOWN_ID, 0, 100).send(c.sender(), MSG_DONTWAIT)).isEqualTo(-EINVAL);
        assertThat(idMsg(0, d.address(), 100).send(c.sender(), MSG_DONTWAIT)).as("no MSG_ZEROCOPY: no number").isEqualTo(100);
        assertThat(idMsg(0, d.address() + 100, 100).send(c.sender(), ZC)).isEqualTo(100);
        assertThat(idMsg(UNKNOWN_ID, 0, 100).send(c.sender(), ZC)).isEqualTo(-EINVAL);
        assertThat(new TxMsg(arena).single(d.address() + 200, 100).send(c.sender(), ZC)).isEqualTo(100);
        assertThat(c.wire().readExactly(300)).isEqualTo(d.toArray(ValueLayout.JAVA_BYTE));
        List<ErrqueueNotice> notices = ErrqueueNotice.awaitCovering(c.sender(), 2, WAIT_MS);
        assertThat(notices).as("numbers 0 and 1, nothing for the failures or the plain send")
                .extracting(ErrqueueNotice::lo).first().isEqualTo(0);
        assertThat(notices.stream().mapToLong(ErrqueueNotice::numbers).sum()).isEqualTo(2);
        assertThat(notices.get(notices.size() - 1).hi()).isEqualTo(1);
        assertThat(ErrqueueNotice.read(c.sender())).isNull();
    }

    @Test
    void threeSendsBeforeTheFirstNoticeIsReadAreOneMergedNotice() throws Exception {
        Connection c = open(TxWire.v4());
        setZerocopy(c.sender(), 1);
        MemorySegment d = data(3000);
        for (int i = 0; i < 3; i++) {
            assertThat(new TxMsg(arena).single(d.address() + i * 1000L, 1000).send(c.sender(), ZC)).isEqualTo(1000);
        }
        assertThat(c.wire().readExactly(3000)).isEqualTo(d.toArray(ValueLayout.JAVA_BYTE));
        List<ErrqueueNotice> notices = ErrqueueNotice.awaitCovering(c.sender(), 3, WAIT_MS);
        // the kernel merges a notice into the queued one when its range continues it
        assertThat(notices).hasSize(1);
        assertThat(notices.get(0)).extracting(ErrqueueNotice::lo, ErrqueueNotice::hi).containsExactly(0, 2);
    }

    @Test
    void noticesAreIpRecverrOnV4AndIpv6RecverrOnV6AndV4Mapped() throws Exception {
        record Expect(String family, int level, int type, long cmsgLen) {
        }
        for (Expect x : List.of(new Expect("v4", 0, 11, 48), new Expect("v6", 41, 25, 60),
                new Expect("v4-mapped", 41, 25, 60))) {
            TxWire wire = switch (x.family) {
                case "v4" -> TxWire.v4();
                case "v6" -> TxWire.v6();
                default -> TxWire.v4Mapped();
            };
            try (Connection c = connect(wire)) {
                setZerocopy(c.sender(), 1);
                MemorySegment d = data(500);
                assertThat(idMsg(0, d.address(), 500).send(c.sender(), ZC)).isEqualTo(500);
                c.wire().readExactly(500);
                ErrqueueNotice n = ErrqueueNotice.next(c.sender(), WAIT_MS);
                assertThat(n).as(x.family).isNotNull();
                assertThat(n.result()).as(x.family + " recvmsg returns no data").isZero();
                assertThat(n.msgFlags() & LinuxConstants.MSG_ERRQUEUE).as(x.family).isNotZero();
                assertThat(n.level()).as(x.family).isEqualTo(x.level);
                assertThat(n.type()).as(x.family).isEqualTo(x.type);
                assertThat(n.cmsgLen()).as(x.family).isEqualTo(x.cmsgLen);
                assertThat(n.controllen()).as(x.family + ": msg_controllen is CMSG_SPACE").isEqualTo((x.cmsgLen + 7) & -8);
                assertThat(n.origin()).isEqualTo(LinuxConstants.SO_EE_ORIGIN_ZEROCOPY);
                assertThat(n.eeErrno()).isZero();
                assertThat(n.eeType()).isZero();
                assertThat(n.lo()).isZero();
                assertThat(n.hi()).isZero();
                for (int i = 32; i < n.control().length && i < x.cmsgLen; i++) {
                    assertThat(n.control()[i]).as(x.family + ": the offender address is all zero, byte " + i).isZero();
                }
            }
        }
    }
}
