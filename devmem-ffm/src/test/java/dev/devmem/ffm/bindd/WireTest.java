package dev.devmem.ffm.bindd;

import dev.devmem.api.DevmemException;
import dev.devmem.api.DevmemProtocolException;
import dev.devmem.api.DevmemUnsupportedException;
import dev.devmem.api.Errno;
import dev.devmem.api.NetlinkException;
import dev.devmem.api.SyscallException;
import dev.devmem.ffm.nicsetup.NicSetupException;
import dev.devmem.ffm.testing.Soak;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The wire protocol's codec: round trips, every limit, and random bodies that may only fail typed. */
class WireTest {

    private static byte[] body(byte[] frame) {
        assertThat(ByteBuffer.wrap(frame).getInt()).isEqualTo(frame.length - 4);
        return Arrays.copyOfRange(frame, 4, frame.length);
    }

    @Test
    void bindRequestsRoundTrip() throws Exception {
        Wire.BindRequest rx = Wire.bindRequest(body(Wire.bindRx("eth1", Wire.DMABUF_PASSED, 1 << 20, null, List.of(3, 0))));
        assertThat(rx).isEqualTo(new Wire.BindRequest(false, "eth1", Wire.DMABUF_PASSED, 1 << 20, null, List.of(3, 0)));
        Wire.BindRequest tx = Wire.bindRequest(body(Wire.bindTx("eth1", Wire.DMABUF_DMA_HEAP, 4096, "system")));
        assertThat(tx).isEqualTo(new Wire.BindRequest(true, "eth1", Wire.DMABUF_DMA_HEAP, 4096, "system", List.of()));
        Wire.Bound b = new Wire.Bound(-2, 7, "eth1", 1L << 33, true);
        assertThat(Wire.bound(body(Wire.bound(b)))).isEqualTo(b);
        Wire.Stats s = new Wire.Stats(1, 2, 7, 3, 4, 5, 6);
        assertThat(Wire.statsReply(body(Wire.stats(s)))).isEqualTo(s);
    }

    @Test
    void nicSetupRequestsAndRepliesRoundTrip() throws Exception {
        InetAddress v4 = InetAddress.getByName("10.9.0.1");
        InetAddress v6 = InetAddress.getByName("fd00::1");
        assertThat(NicWire.nicSetupRequest(body(NicWire.nicSetup("eth1", List.of(8, 9), v4, 5201))))
                .isEqualTo(new NicWire.NicSetupRequest("eth1", List.of(8, 9), v4, 5201));
        assertThat(NicWire.nicSetupRequest(body(NicWire.nicSetup("eth1", List.of(1), v6, 65535))))
                .isEqualTo(new NicWire.NicSetupRequest("eth1", List.of(1), v6, 65535));
        assertThat(NicWire.nicUndoRequest(body(NicWire.nicUndo(-3)))).isEqualTo(-3);
        NicWire.NicSet set = new NicWire.NicSet(4, "eth1", List.of("rx-ntuple-filter off -> on", "flow rule at 7"));
        assertThat(NicWire.nicSet(body(NicWire.nicSet(set)))).isEqualTo(set);
        assertThat(NicWire.nicUndone(body(NicWire.nicUndone(4)))).isEqualTo(4);
    }

    @Test
    void nicSetupRequestsOutsideTheLimitsAreRefusedTyped() {
        InetAddress v4 = InetAddress.ofLiteral("10.9.0.1");
        assertThatThrownBy(() -> NicWire.nicSetupRequest(body(NicWire.nicSetup("eth1", List.of(1), v4, 0))))
                .isInstanceOf(WireException.class).hasMessageContaining("port 0");
        assertThatThrownBy(() -> NicWire.nicSetupRequest(body(NicWire.nicSetup("eth1", List.of(1),
                InetAddress.ofLiteral("0.0.0.0"), 80)))).isInstanceOf(WireException.class).hasMessageContaining("concrete");
        assertThatThrownBy(() -> NicWire.nicSetupRequest(body(NicWire.nicSetup("a/b", List.of(1), v4, 80))))
                .isInstanceOf(WireException.class).hasMessageContaining("ifname");
        assertThatThrownBy(() -> NicWire.nicSetupRequest(body(NicWire.nicSetup("eth1", List.of(1, 1), v4, 80))))
                .isInstanceOf(WireException.class).hasMessageContaining("repeats");
        byte[] b = body(NicWire.nicSetup("eth1", List.of(1), v4, 80));
        b[2 + 2 + 4 + 2 + 4] = 5; // the address length
        assertThatThrownBy(() -> NicWire.nicSetupRequest(b)).isInstanceOf(WireException.class)
                .hasMessageContaining("4 or 16 bytes, not 5");
        byte[] full = body(NicWire.nicSetup("eth1", List.of(2, 3), InetAddress.ofLiteral("fd00::1"), 80));
        for (int n = 2; n < full.length; n++) {
            byte[] cut = Arrays.copyOf(full, n);
            assertThatThrownBy(() -> NicWire.nicSetupRequest(cut)).as("cut at %d", n).isInstanceOf(WireException.class);
        }
        byte[] tail = Arrays.copyOf(full, full.length + 1);
        assertThatThrownBy(() -> NicWire.nicSetupRequest(tail)).hasMessageContaining("left over");
    }

    @Test
    void aNicSetupFailureRoundTripsWithItsStepListsAndTheKernelsExtack() throws Exception {
        NetlinkException cause = new NetlinkException("ethtool rings-set va", Errno.EOPNOTSUPP,
                "setting TCP data split is not supported", "rings.tcp-data-split", null, null, null);
        NicSetupException x = NicSetupException.relayed("va", "header-split", cause, List.of("rx-gro-list off -> on"),
                List.of());
        DevmemException back = ErrorCodec.decode(body(ErrorCodec.encode(x)));
        assertThat(back).isInstanceOfSatisfying(NicSetupException.class, b -> {
            assertThat(b).hasMessage(x.getMessage());
            assertThat(b.errno()).isEqualTo(Errno.EOPNOTSUPP);
            assertThat(b.step()).isEqualTo("header-split");
            assertThat(b.ifname()).isEqualTo("va");
            assertThat(b.undone()).containsExactly("rx-gro-list off -> on");
            assertThat(b.leftInPlace()).isEmpty();
            assertThat(b.getCause()).isInstanceOfSatisfying(NetlinkException.class, n -> {
                assertThat(n.extackMessage()).hasValue("setting TCP data split is not supported");
                assertThat(n.offendingAttribute()).hasValue("rings.tcp-data-split");
            });
        });
        // more lines than one frame holds still arrive, cut, as the same type
        NicSetupException huge = NicSetupException.relayed("va", "restore", cause,
                java.util.Collections.nCopies(40, "x".repeat(500)), java.util.Collections.nCopies(40, "y".repeat(500)));
        DevmemException cut = ErrorCodec.decode(body(ErrorCodec.encode(huge)));
        assertThat(cut).isInstanceOfSatisfying(NicSetupException.class, c -> {
            assertThat(c.leftInPlace()).hasSize(ErrorCodec.MAX_LIST);
            assertThat(c.getMessage()).startsWith("Restoring the NIC setup of va failed at step restore");
        });
        // and an error whose text alone is longer than a string field arrives cut, as an error
        DevmemException text = ErrorCodec.decode(body(ErrorCodec.encode(new DevmemException("z".repeat(20_000)))));
        assertThat(text.getMessage()).hasSize(Wire.MAX_STRING);
    }

    @Test
    void errorsRoundTripAsTheSameTypedExceptions() throws Exception {
        NetlinkException n = new NetlinkException("netdev bind-rx", Errno.EOPNOTSUPP, "some text", "dmabuf.ifindex",
                null, "u32 min 1", "veth has no queue API");
        DevmemException back = ErrorCodec.decode(body(ErrorCodec.encode(n)));
        assertThat(back).isInstanceOf(NetlinkException.class).hasMessage(n.getMessage());
        NetlinkException nb = (NetlinkException) back;
        assertThat(nb.errno()).isEqualTo(Errno.EOPNOTSUPP);
        assertThat(nb.extackMessage()).contains("some text");
        assertThat(nb.offendingAttribute()).contains("dmabuf.ifindex");
        assertThat(nb.missingAttribute()).isEmpty();
        assertThat(nb.policy()).contains("u32 min 1");
        assertThat(nb.explanation()).isEqualTo("veth has no queue API");

        SyscallException s = new SyscallException("devmem bindd", Errno.EACCES, "not allowed");
        assertThat(ErrorCodec.decode(body(ErrorCodec.encode(s)))).isExactlyInstanceOf(SyscallException.class)
                .hasMessage(s.getMessage());
        DevmemUnsupportedException u = new DevmemUnsupportedException("netdev bind-tx", "6.16", "needs 6.16");
        DevmemException ub = ErrorCodec.decode(body(ErrorCodec.encode(u)));
        assertThat(ub).isInstanceOf(DevmemUnsupportedException.class).hasMessage("needs 6.16");
        assertThat(((DevmemUnsupportedException) ub).requiredKernel()).contains("6.16");
        assertThat(ErrorCodec.decode(body(ErrorCodec.protocol("bad")))).isInstanceOf(DevmemProtocolException.class)
                .hasMessage("bad");
    }

    @Test
    void aLongMessageIsCutToTheStringLimitOnACharacterBoundary() throws Exception {
        String longText = "é".repeat(Wire.MAX_STRING); // 2 bytes each
        DevmemException back = ErrorCodec.decode(body(ErrorCodec.encode(new DevmemException(longText))));
        assertThat(back.getMessage()).hasSize(Wire.MAX_STRING / 2).matches("é+");
    }

    @Test
    void everyLimitIsEnforced() {
        assertThatThrownBy(() -> Wire.frameLength(0)).isInstanceOf(WireException.class);
        assertThatThrownBy(() -> Wire.frameLength(Wire.MAX_FRAME + 1)).isInstanceOf(WireException.class)
                .hasMessageContaining("outside 1..4096");
        assertThatThrownBy(() -> Wire.frameLength(-1)).isInstanceOf(WireException.class);
        assertThatThrownBy(() -> Wire.type(new byte[] {2, 1})).hasMessageContaining("version 2 is not spoken");
        assertThatThrownBy(() -> Wire.bindRequest(body(Wire.bindRx("a-very-long-ifname", 1, 4096, null, List.of(0)))))
                .hasMessageContaining("ifname");
        assertThatThrownBy(() -> Wire.bindRequest(body(Wire.bindRx("eth0", 9, 4096, null, List.of(0)))))
                .hasMessageContaining("dmabuf kind 9");
        assertThatThrownBy(() -> Wire.bindRequest(body(Wire.bindRx("eth0", 1, 0, null, List.of(0)))))
                .hasMessageContaining("size");
        assertThatThrownBy(() -> Wire.bindRequest(body(Wire.bindRx("eth0", 1, Wire.MAX_DMABUF + 1, null, List.of(0)))))
                .hasMessageContaining("size");
        assertThatThrownBy(() -> Wire.bindRequest(body(Wire.bindRx("eth0", 1, 4096, null, List.of()))))
                .hasMessageContaining("queue count 0");
        assertThatThrownBy(() -> Wire.bindRequest(body(Wire.bindRx("eth0", 1, 4096, null, List.of(1, 1)))))
                .hasMessageContaining("repeats");
        assertThatThrownBy(() -> Wire.bindRequest(body(Wire.bindRx("eth0", 1, 4096, null, List.of(-1)))))
                .hasMessageContaining("out of range");
        assertThatThrownBy(() -> Wire.bindRequest(body(Wire.bindTx("eth0", Wire.DMABUF_DMA_HEAP, 4096, "../x"))))
                .hasMessageContaining("heap");
        assertThatThrownBy(() -> Wire.bindRequest(body(Wire.bindTx("eth0", Wire.DMABUF_DMA_HEAP, 4096, null))))
                .hasMessageContaining("heap");
        assertThatThrownBy(() -> Wire.bindRequest(body(Wire.bindTx("eth0", Wire.DMABUF_PASSED, 4096, "system"))))
                .hasMessageContaining("heap");
        byte[] trailing = Arrays.copyOf(body(Wire.bindTx("eth0", 1, 4096, null)), 30);
        assertThatThrownBy(() -> Wire.bindRequest(trailing)).hasMessageContaining("left over");
        Integer[] many = new Integer[Wire.MAX_QUEUES + 1];
        for (int i = 0; i < many.length; i++) {
            many[i] = i;
        }
        assertThatThrownBy(() -> Wire.bindRequest(body(Wire.bindRx("eth0", 1, 4096, null, List.of(many)))))
                .hasMessageContaining("queue count 257");
        org.assertj.core.api.Assertions.assertThatCode(() -> Wire.bindTx("x".repeat(5000), 1, 4096, "y".repeat(5000)))
                .as("strings are cut, so even a client cannot build an oversized frame this way")
                .doesNotThrowAnyException();
        byte[] badUtf8 = body(Wire.bindTx("eth0", 1, 4096, null));
        badUtf8[4] = (byte) 0xC3; // 'e' of eth0 becomes a lone lead byte
        badUtf8[5] = (byte) 0x28;
        assertThatThrownBy(() -> Wire.bindRequest(badUtf8)).hasMessageContaining("not UTF-8");
    }

    @Test
    void everyTruncationOfAValidRequestFailsTyped() {
        byte[] full = body(Wire.bindRx("eth1", Wire.DMABUF_DMA_HEAP, 1 << 20, "system", List.of(1, 2, 3)));
        for (int n = 0; n < full.length; n++) {
            byte[] cut = Arrays.copyOf(full, n);
            assertThatThrownBy(() -> Wire.bindRequest(cut)).as("cut at %d", n).isInstanceOf(WireException.class);
        }
    }

    /** Random and mutated bodies: each decoder either decodes or throws WireException, nothing else. */
    @Test
    void randomAndMutatedBodiesOnlyEverFailTyped() {
        long seed = Soak.seed(20261204);
        int cases = Soak.cases(100_000);
        SplittableRandom rnd = new SplittableRandom(seed);
        byte[][] valid = {
                body(Wire.bindRx("eth1", Wire.DMABUF_PASSED, 1 << 20, null, List.of(0, 5))),
                body(Wire.bindTx("eth1", Wire.DMABUF_DMA_HEAP, 4096, "system")),
                body(Wire.bound(new Wire.Bound(1, 2, "eth1", 4096, false))),
                body(Wire.stats(new Wire.Stats(1, 2, 7, 3, 4, 5, 6))),
                body(ErrorCodec.encode(new NetlinkException("op", Errno.EINVAL, "m", "a", "b", "p", "e"))),
                body(NicWire.nicSetup("eth1", List.of(1, 2), InetAddress.ofLiteral("fd00::1"), 5201)),
                body(NicWire.nicSet(new NicWire.NicSet(1, "eth1", List.of("a", "b")))),
                body(NicWire.nicUndo(1)),
                body(ErrorCodec.encode(NicSetupException.relayed("eth1", "rss",
                        new SyscallException("op", Errno.EINVAL, "e"), List.of("u"), List.of("l")))),
        };
        int decoded = 0;
        int refused = 0;
        for (int i = 0; i < cases; i++) {
            byte[] b;
            if (rnd.nextBoolean()) {
                b = new byte[rnd.nextInt(64)];
                rnd.nextBytes(b);
                if (b.length > 0 && rnd.nextBoolean()) {
                    b[0] = Wire.VERSION;
                }
            } else {
                byte[] base = valid[rnd.nextInt(valid.length)];
                b = Arrays.copyOf(base, Math.max(0, base.length + rnd.nextInt(-4, 5)));
                for (int k = rnd.nextInt(1, 4); k > 0 && b.length > 0; k--) {
                    b[rnd.nextInt(b.length)] = (byte) rnd.nextInt(256);
                }
            }
            try {
                decodeAny(b);
                decoded++;
            } catch (WireException e) {
                refused++;
            } catch (RuntimeException e) {
                throw new AssertionError("seed " + seed + " case " + i + ": " + Arrays.toString(b), e);
            }
        }
        assertThat(decoded + refused).isEqualTo(cases);
        assertThat(refused).isPositive();
        System.out.printf("bindd wire fuzz: %d bodies (seed %d), %d decoded, %d refused typed%n", cases, seed, decoded,
                refused);
    }

    private static void decodeAny(byte[] b) throws WireException {
        int type = Wire.type(b);
        switch (type) {
            case Wire.BIND_RX, Wire.BIND_TX -> Wire.bindRequest(b);
            case Wire.BOUND -> Wire.bound(b);
            case Wire.STATS_OK -> Wire.statsReply(b);
            case Wire.NIC_SETUP -> NicWire.nicSetupRequest(b);
            case Wire.NIC_UNDO -> NicWire.nicUndoRequest(b);
            case Wire.NIC_SET -> NicWire.nicSet(b);
            case Wire.NIC_UNDONE -> NicWire.nicUndone(b);
            case Wire.ERROR -> ErrorCodec.decode(b);
            default -> Wire.expectEmpty(b, type);
        }
    }
}
