package dev.devmem.ffm.emulated;

import dev.devmem.api.DevmemUnsupportedException;
import dev.devmem.api.DmabufSource;
import dev.devmem.api.Errno;
import dev.devmem.api.NetlinkException;
import dev.devmem.api.SyscallException;
import dev.devmem.api.TxBindingSpec;
import dev.devmem.ffm.sys.LinuxConstants;
import dev.devmem.ffm.testing.ErrqueueNotice;
import dev.devmem.ffm.testing.NetcatPattern;
import dev.devmem.ffm.testing.TxMsg;
import dev.devmem.ffm.testing.TxWire;
import dev.devmem.ffm.tx.DevmemTxSocketImpl;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static dev.devmem.ffm.sys.LinuxConstants.MSG_DONTWAIT;
import static dev.devmem.ffm.sys.LinuxConstants.MSG_ZEROCOPY;
import static dev.devmem.ffm.sys.LinuxConstants.SOL_SOCKET;
import static dev.devmem.ffm.sys.LinuxConstants.SO_ZEROCOPY;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Devmem TX on the emulated NIC where the real kernel of this host cannot go (no netmem-TX driver):
 * bind-tx, and sendmsg with a TX binding id answered as {@code tcp_sendmsg_locked} answers it, the
 * bytes read from the memfd dmabuf and checked on the real TCP peer.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class EmulatedTxTest {
    private static final int ZC = MSG_ZEROCOPY | MSG_DONTWAIT;
    private static final int WAIT_MS = 10_000;
    private final Arena arena = Arena.ofShared();
    private final List<AutoCloseable> closeables = new ArrayList<>();
    private final EmulatedNic nic = track(create(EmulatedNicConfig.defaults()));

    private static EmulatedNic create(EmulatedNicConfig c) {
        try {
            return EmulatedNic.create(c);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private <T extends AutoCloseable> T track(T t) {
        closeables.add(t);
        return t;
    }

    @AfterEach
    void closeAll() throws Exception {
        for (int i = closeables.size() - 1; i >= 0; i--) {
            closeables.get(i).close();
        }
        arena.close();
    }

    private EmulatedTxBinding bind(long size) throws Exception {
        EmulatedTxBinding b = track(nic.bindTx(new TxBindingSpec("emu0", DmabufSource.emulated(size))));
        NetcatPattern.kernelDoc().fill(b.hostView().orElseThrow(), 0);
        return b;
    }

    /** A connected emulated socket with SO_ZEROCOPY on, and the wire to read what it sent. */
    private record Conn(EmulatedEndpoint ep, TxWire wire) {
    }

    private Conn connect(EmulatedNic on, int sndbuf, int rcvbuf) throws Exception {
        TxWire wire = track(TxWire.open(InetAddress.getByName("127.0.0.1"), InetAddress.getByName("127.0.0.1"),
                sndbuf, rcvbuf));
        EmulatedEndpoint ep = on.attach(wire.takeSender(), 0);
        closeables.add(closeables.indexOf(wire) + 1, ep); // closed before the wire
        setInt(ep, SO_ZEROCOPY, 1);
        return new Conn(ep, wire);
    }

    private Conn connect() throws Exception {
        return connect(nic, 0, 0);
    }

    private static void setInt(EmulatedEndpoint ep, int name, int value) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(ValueLayout.JAVA_INT);
            v.set(ValueLayout.JAVA_INT, 0, value);
            assertThat(ep.setsockopt(SOL_SOCKET, name, v, 4)).isZero();
        }
    }

    private long send(EmulatedEndpoint ep, int id, long offset, long len, int flags) {
        return new TxMsg(arena).single(offset, len).devmemId(id).send(ep, flags);
    }

    private static byte[] bytes(EmulatedTxBinding b, long offset, int len) {
        return b.hostView().orElseThrow().asSlice(offset, len).toArray(ValueLayout.JAVA_BYTE);
    }

    // ----------------------------------------------------------------------------------- bind-tx

    @Test
    void bindTxTakesTheNextIdOfTheKernelWideAllocatorAndAWritablePageRoundedDmabuf() throws Exception {
        EmulatedRxBinding rx = track(nic.bindRx(List.of(0), DmabufSource.emulated(1 << 16)));
        EmulatedTxBinding tx = track(nic.bindTx(new TxBindingSpec("emu0", DmabufSource.emulated(10_000))));
        assertThat(tx.id()).as("rx and TX share one cyclic allocator").isEqualTo(rx.id() + 1);
        assertThat(tx.dmabufSize()).isEqualTo(12_288);
        assertThat(tx.interfaceName()).isEqualTo("emu0");
        assertThat(tx.ifindex()).isEqualTo(nic.ifindex());
        assertThat(tx.fallbackCause()).isEmpty();
        MemorySegment view = tx.hostView().orElseThrow();
        assertThat(view.isReadOnly()).isFalse();
        view.set(ValueLayout.JAVA_INT, 12_284, 0x1234_5678);
        assertThat(view.get(ValueLayout.JAVA_INT, 12_284)).isEqualTo(0x1234_5678);
        assertThat(nic.txBindings()).containsExactly(tx);
        tx.close();
        assertThat(tx.isOpen()).isFalse();
        assertThat(tx.isMemoryReleased()).isTrue();
        assertThat(nic.txBindings()).isEmpty();
        assertThatThrownBy(() -> view.get(ValueLayout.JAVA_BYTE, 0)).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void bindTxOnAnotherInterfaceOrAGoneNicIsEnodev() throws Exception {
        assertThatThrownBy(() -> nic.bindTx(new TxBindingSpec("eth9", DmabufSource.emulated(4096))))
                .isInstanceOfSatisfying(NetlinkException.class, e -> {
                    assertThat(e.operation()).isEqualTo("netdev bind-tx");
                    assertThat(e.errno()).isEqualTo(Errno.ENODEV);
                });
        EmulatedNic gone = EmulatedNic.create(EmulatedNicConfig.defaults().withInterfaceName("emu9"));
        gone.close();
        assertThatThrownBy(() -> gone.bindTx(new TxBindingSpec("emu9", DmabufSource.emulated(4096))))
                .isInstanceOfSatisfying(NetlinkException.class, e -> assertThat(e.errno()).isEqualTo(Errno.ENODEV));
    }

    @Test
    void aNicWithoutNetmemTxRefusesLikeLoAndVethWithTheKernelsText() throws Exception {
        EmulatedNic plain = track(EmulatedNic.create(EmulatedNicConfig.defaults().withNetmemTx(false)));
        assertThatThrownBy(() -> plain.bindTx(new TxBindingSpec("emu0", DmabufSource.emulated(4096))))
                .isInstanceOfSatisfying(NetlinkException.class, e -> {
                    assertThat(e.errno()).isEqualTo(Errno.EOPNOTSUPP);
                    assertThat(e.extackMessage()).contains("Driver does not support netmem TX");
                    assertThat(e.getMessage()).contains("kernel says \"Driver does not support netmem TX\"");
                });
        assertThat(plain.txBindings()).isEmpty();
    }

    @Test
    void theCopyFallbackIsIdZeroCarriesTheRefusalAndSendsTheHostViewAsHostMemory() throws Exception {
        EmulatedNic plain = track(EmulatedNic.create(EmulatedNicConfig.defaults().withNetmemTx(false)));
        EmulatedTxBinding b = track(plain.bindTx(
                new TxBindingSpec("emu0", DmabufSource.emulated(8192)).withCopyFallback(true)));
        assertThat(b.id()).isZero();
        assertThat(b.fallbackCause()).get().isInstanceOfSatisfying(NetlinkException.class,
                e -> assertThat(e.errno()).isEqualTo(Errno.EOPNOTSUPP));
        NetcatPattern.kernelDoc().fill(b.hostView().orElseThrow(), 0);
        Conn c = connect(plain, 0, 0);
        DevmemTxSocketImpl s = new DevmemTxSocketImpl(c.ep());
        assertThat(s.send(b, 1000, 3000, 9)).isEqualTo(3000);
        assertThat(c.wire().readExactly(3000)).isEqualTo(bytes(b, 1000, 3000));
        List<long[]> done = new ArrayList<>();
        for (int i = 0; i < 100 && done.isEmpty(); i++) {
            TxWire.await(s.pollFd(), (short) 0, 100);
            s.pollCompletions((tag, n, copied) -> done.add(new long[]{tag, n, copied ? 1 : 0}));
        }
        assertThat(done).containsExactly(new long[]{9, 3000, 1}); // host memory over loopback: copied
        assertThat(c.ep().devmemSends()).isZero();
        assertThat(c.ep().noticesRewritten()).isZero();
    }

    @Test
    void aStrictBindingIgnoresTheFallbackWhenTheNicCanDoTx() throws Exception {
        EmulatedTxBinding b = track(nic.bindTx(new TxBindingSpec("emu0", DmabufSource.emulated(4096)).withCopyFallback(true)));
        assertThat(b.id()).isPositive();
        assertThat(b.fallbackCause()).isEmpty();
    }

    @Test
    void deviceMemoryOfADmaHeapOrGpuIsNotEmulated() {
        assertThatThrownBy(() -> nic.bindTx(new TxBindingSpec("emu0", DmabufSource.dmaHeap("system", 4096))))
                .isInstanceOf(DevmemUnsupportedException.class);
        assertThatThrownBy(() -> nic.bindTx(new TxBindingSpec("emu0", DmabufSource.cuda(0, 4096))))
                .isInstanceOf(DevmemUnsupportedException.class);
    }

    // -------------------------------------------------------------------------------- devmem sends

    @Test
    void aDevmemSendCarriesTheDmabufBytesAndCompletesWithCodeZero() throws Exception {
        EmulatedTxBinding b = bind(1 << 16);
        Conn c = connect();
        assertThat(send(c.ep(), b.id(), 4096, 10_000, ZC)).isEqualTo(10_000);
        assertThat(c.wire().readExactly(10_000)).isEqualTo(bytes(b, 4096, 10_000));
        ErrqueueNotice n = ErrqueueNotice.next(c.ep(), WAIT_MS);
        assertThat(n).isNotNull();
        assertThat(n.level()).isEqualTo(LinuxConstants.SOL_IP);
        assertThat(n.type()).isEqualTo(LinuxConstants.IP_RECVERR);
        assertThat(n.cmsgLen()).isEqualTo(48);
        assertThat(n.origin()).isEqualTo(LinuxConstants.SO_EE_ORIGIN_ZEROCOPY);
        assertThat(n.eeErrno()).isZero();
        assertThat(n.lo()).isZero();
        assertThat(n.hi()).isZero();
        assertThat(n.code()).as("device memory is never copied").isZero();
        assertThat(c.ep().noticesRewritten()).isEqualTo(1);
        assertThat(c.ep().devmemSends()).isEqualTo(1);
        assertThat(c.ep().devmemBytesSent()).isEqualTo(10_000);
        assertThat(b.sends()).isEqualTo(1);
        assertThat(b.bytesSent()).isEqualTo(10_000);
    }

    @Test
    void iovsAreOffsetsIntoTheDmabufSentInOrder() throws Exception {
        EmulatedTxBinding b = bind(1 << 16);
        Conn c = connect();
        TxMsg m = new TxMsg(arena).iovs(3).iov(0, 40_000, 100).iov(1, 8192, 0).iov(2, 7, 50).devmemId(b.id());
        assertThat(m.send(c.ep(), ZC)).isEqualTo(150);
        byte[] expected = new byte[150];
        System.arraycopy(bytes(b, 40_000, 100), 0, expected, 0, 100);
        System.arraycopy(bytes(b, 7, 50), 0, expected, 100, 50);
        assertThat(c.wire().readExactly(150)).isEqualTo(expected);
    }

    @Test
    void whatTheKernelRefusesTheEmulatorRefusesWithTheSameErrno() throws Exception {
        EmulatedTxBinding b = bind(1 << 16);
        EmulatedRxBinding rx = track(nic.bindRx(List.of(1), DmabufSource.emulated(1 << 16)));
        EmulatedNic other = track(EmulatedNic.create(EmulatedNicConfig.defaults().withInterfaceName("emu1")));
        EmulatedTxBinding foreign = track(other.bindTx(new TxBindingSpec("emu1", DmabufSource.emulated(4096))));
        Conn c = connect();
        assertThat(send(c.ep(), rx.id(), 0, 100, ZC)).as("an rx binding has no tx_vec").isEqualTo(-22);
        assertThat(send(c.ep(), foreign.id(), 0, 100, ZC)).as("route device differs").isEqualTo(-19);
        assertThat(send(c.ep(), b.id(), 0, 100, MSG_DONTWAIT)).as("no MSG_ZEROCOPY").isEqualTo(-22);
        setInt(c.ep(), SO_ZEROCOPY, 0);
        assertThat(send(c.ep(), b.id(), 0, 100, ZC)).as("no SO_ZEROCOPY").isEqualTo(-22);
        setInt(c.ep(), SO_ZEROCOPY, 1);
        assertThat(send(c.ep(), b.id(), 1 << 16, 100, ZC)).as("offset == dmabuf size").isEqualTo(-14);
        assertThat(send(c.ep(), b.id(), 1L << 40, 100, ZC)).as("offset far beyond").isEqualTo(-14);
        assertThat(send(c.ep(), b.id(), 0x7FFF_FFFF_FFF0L, 100, ZC)).as("above the user address limit").isEqualTo(-14);
        assertThat(send(c.ep(), b.id(), 0, 0, ZC)).as("nothing to send").isZero();
        foreign.close();
        assertThat(send(c.ep(), foreign.id(), 0, 100, ZC)).as("an unbound id").isEqualTo(-22);
        // none of that spent a send number: the next devmem send is number 0
        assertThat(send(c.ep(), b.id(), 0, 100, ZC)).isEqualTo(100);
        ErrqueueNotice n = ErrqueueNotice.next(c.ep(), WAIT_MS);
        assertThat(n.lo()).isZero();
        assertThat(n.hi()).isZero();
        assertThat(c.wire().readExactly(100)).isEqualTo(bytes(b, 0, 100));
        assertThat(c.ep().zerocopySends()).isEqualTo(1);
    }

    @Test
    void aSendReachingPastTheDmabufTakesTheBytesBeforeItsEnd() throws Exception {
        EmulatedTxBinding b = bind(8192);
        Conn c = connect();
        assertThat(send(c.ep(), b.id(), 8192 - 100, 1000, ZC)).isEqualTo(100);
        TxMsg twoIovs = new TxMsg(arena).iovs(2).iov(0, 0, 300).iov(1, 9000, 300).devmemId(b.id());
        assertThat(twoIovs.send(c.ep(), ZC)).as("the second iov starts beyond the dmabuf").isEqualTo(300);
        byte[] expected = new byte[400];
        System.arraycopy(bytes(b, 8092, 100), 0, expected, 0, 100);
        System.arraycopy(bytes(b, 0, 300), 0, expected, 100, 300);
        assertThat(c.wire().readExactly(400)).isEqualTo(expected);
        assertThat(ErrqueueNotice.awaitCovering(c.ep(), 2, WAIT_MS).stream().mapToLong(ErrqueueNotice::numbers).sum())
                .isEqualTo(2);
    }

    @Test
    void aHostSendAfterADevmemSendKeepsItsCopiedCode() throws Exception {
        EmulatedTxBinding b = bind(8192);
        Conn c = connect();
        assertThat(send(c.ep(), b.id(), 0, 100, ZC)).isEqualTo(100);
        c.wire().readExactly(100);
        ErrqueueNotice first = ErrqueueNotice.next(c.ep(), WAIT_MS);
        MemorySegment host = arena.allocate(100);
        assertThat(send(c.ep(), 0, host.address(), 100, ZC)).isEqualTo(100);
        c.wire().readExactly(100);
        ErrqueueNotice second = ErrqueueNotice.next(c.ep(), WAIT_MS);
        assertThat(first).extracting(ErrqueueNotice::lo, ErrqueueNotice::hi, ErrqueueNotice::code).containsExactly(0, 0, 0);
        assertThat(second).extracting(ErrqueueNotice::lo, ErrqueueNotice::hi, ErrqueueNotice::code)
                .containsExactly(1, 1, LinuxConstants.SO_EE_CODE_ZEROCOPY_COPIED);
        assertThat(c.ep().zerocopySends()).isEqualTo(2);
        assertThat(c.ep().devmemSends()).isEqualTo(1);
    }

    @Test
    void bytesInFlightSurviveTheBindingsCloseUntilTheKernelCompletesThem() throws Exception {
        EmulatedTxBinding b = bind(4 << 20);
        byte[] expected = bytes(b, 0, 4 << 20);
        Conn c = connect(nic, 32 << 10, 32 << 10);
        long sent = 0;
        while (sent < (4 << 20)) {
            long r = send(c.ep(), b.id(), sent, (4 << 20) - sent, ZC);
            if (r == -11) {
                break; // the peer does not read: the socket is full
            }
            assertThat(r).isPositive();
            sent += r;
        }
        assertThat(sent).as("the unread peer stopped the sender").isLessThan(4 << 20).isPositive();
        b.close();
        assertThat(b.isMemoryReleased()).as("unmapped: the kernel keeps the pages it pinned").isTrue();
        assertThat(send(c.ep(), b.id(), 0, 100, ZC)).as("the id is gone").isEqualTo(-22);
        assertThat(c.wire().readExactly((int) sent)).isEqualTo(java.util.Arrays.copyOf(expected, (int) sent));
        long covered = ErrqueueNotice.awaitCovering(c.ep(), c.ep().zerocopySends(), WAIT_MS).stream()
                .peek(n -> assertThat(n.code()).isZero()).mapToLong(ErrqueueNotice::numbers).sum();
        assertThat(covered).isEqualTo(c.ep().zerocopySends());
    }

    // ------------------------------------------------------------------------ through the engine

    @Test
    void theEngineExplainsTheRefusals() throws Exception {
        EmulatedTxBinding b = bind(8192);
        EmulatedNic other = track(EmulatedNic.create(EmulatedNicConfig.defaults().withInterfaceName("emu1")));
        EmulatedTxBinding foreign = track(other.bindTx(new TxBindingSpec("emu1", DmabufSource.emulated(4096))));
        Conn c = connect();
        DevmemTxSocketImpl s = new DevmemTxSocketImpl(c.ep());
        assertThatThrownBy(() -> s.send(foreign, 0, 100, 1)).isInstanceOfSatisfying(SyscallException.class, e -> {
            assertThat(e.operation()).isEqualTo("sendmsg(MSG_ZEROCOPY, SCM_DEVMEM_DMABUF)");
            assertThat(e.errno()).isEqualTo(Errno.ENODEV);
            assertThat(e.explanation()).contains("another device than emu1");
        });
        assertThatThrownBy(() -> s.send(b, 8192, 100, 1)).isInstanceOfSatisfying(SyscallException.class, e -> {
            assertThat(e.errno()).isEqualTo(Errno.EFAULT);
            assertThat(e.explanation()).contains("[8192, 8292) starts beyond TX binding").contains("8192 bytes");
        });
        b.close();
        assertThatThrownBy(() -> s.send(b, 0, 100, 1)).isInstanceOfSatisfying(SyscallException.class, e -> {
            assertThat(e.errno()).isEqualTo(Errno.EINVAL);
            assertThat(e.explanation()).contains("is closed");
        });
        assertThat(s.stats().sends()).isZero();
        s.close();
    }
}
