package dev.devmem.ffm.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.devmem.api.DevmemException;
import dev.devmem.api.DevmemProtocolException;
import dev.devmem.ffm.ethtool.EthtoolReplyDecoders;
import dev.devmem.ffm.netdev.NetdevReplyDecoders;
import dev.devmem.ffm.netlink.ExtAck;
import dev.devmem.ffm.netlink.GenlFamily;
import dev.devmem.ffm.netlink.GenlMessage;
import dev.devmem.ffm.netlink.GenlRequest;
import dev.devmem.ffm.netlink.NetlinkConstants;
import dev.devmem.ffm.netlink.NetlinkFailure;
import dev.devmem.ffm.netlink.NetlinkReplyDecoders;
import dev.devmem.ffm.netlink.NlMessage;
import dev.devmem.ffm.rx.CmsgWalker;
import dev.devmem.ffm.sys.LinuxConstants;
import dev.devmem.ffm.tx.ZerocopyNotices;
import org.junit.jupiter.api.BeforeAll;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Coverage-guided fuzzing (Jazzer) of every parser of bytes that come from the kernel: the
 * {@code recvmsg} control messages (devmem cmsgs), the error-queue zerocopy completions, netlink
 * datagrams with their errors and extended ACKs, the netdev, nlctrl and ethtool reply decoders, and
 * the flow-steering ioctl's struct. The only acceptable failure is the typed
 * {@link DevmemProtocolException}; anything else (an out-of-bounds read, a NullPointerException, an
 * IllegalArgumentException, a NegativeArraySizeException, an OutOfMemoryError) is a crash and a bug.
 * Native buffers are exactly as long as the input, so a read past the kernel's length throws.
 *
 * <p>In {@code bin/test} each target runs in Jazzer's regression mode over its committed seed corpus
 * ({@code src/test/resources/dev/devmem/ffm/fuzz/KernelBytesFuzzTestInputs/<target>/}: real kernel
 * answers and their corruptions) plus every crash ever found. {@link #anyKernelBytes} is the target
 * of the bounded fuzzing run (see {@code docs/testing.md}); its first byte picks the parser, so one
 * coverage-guided run explores them all.
 */
class KernelBytesFuzzTest {
    private static final GenlRequest REQUEST = NetlinkReplyDecoders.sampleRequest();

    @BeforeAll
    static void instrumentJava25Classes() {
        ClassFileVersionBridge.install();
    }

    @FuzzTest(maxDuration = "20s")
    void anyKernelBytes(byte[] data) {
        if (data.length == 0) {
            return;
        }
        byte[] rest = Arrays.copyOfRange(data, 1, data.length);
        switch ((data[0] & 0xFF) % 4) {
            case 0 -> cmsgs(rest);
            case 1 -> zerocopyNotices(rest);
            case 2 -> netlinkDatagram(rest);
            default -> ethtoolRule(rest);
        }
    }

    /** A {@code recvmsg(MSG_SOCK_DEVMEM)} control buffer, {@code msg_controllen} = its length. */
    @FuzzTest
    void cmsgs(byte[] control) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment c = copy(arena, control);
            CmsgWalker walker = new CmsgWalker();
            try {
                walker.reset(c, control.length);
                long last = -1;
                while (walker.next()) {
                    assertThat(walker.position()).isGreaterThan(last).isLessThanOrEqualTo(control.length - 16L);
                    assertThat(walker.position() + walker.length()).isLessThanOrEqualTo(control.length);
                    last = walker.position();
                    if (walker.isDmabuf() || walker.isLinear()) {
                        assertThat(walker.length()).isEqualTo(40);
                        walker.fragOffset();
                        walker.fragSize();
                        walker.fragToken();
                        walker.dmabufId();
                        walker.flags();
                    }
                }
            } catch (DevmemProtocolException expected) {
                // malformed: rejected with a typed error
            }
        }
    }

    /**
     * A {@code recvmsg(MSG_ERRQUEUE)} control buffer; bit 0 of the first byte stands for
     * {@code MSG_CTRUNC} in {@code msg_flags}.
     */
    @FuzzTest
    void zerocopyNotices(byte[] data) {
        if (data.length == 0) {
            return;
        }
        int flags = (data[0] & 1) != 0 ? LinuxConstants.MSG_CTRUNC : 0;
        byte[] control = Arrays.copyOfRange(data, 1, data.length);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment c = copy(arena, control);
            List<long[]> ranges = new ArrayList<>();
            try {
                int n = new ZerocopyNotices().parse(c, control.length, flags,
                        (lo, hi, code) -> ranges.add(new long[] {lo, hi, code}));
                assertThat(n).isEqualTo(ranges.size());
                for (long[] r : ranges) {
                    assertThat(ZerocopyNotices.rangeLength((int) r[0], (int) r[1])).isBetween(1L, 1L << 32);
                }
            } catch (DevmemProtocolException expected) {
                // rejected with a typed error
            } catch (DevmemException e) {
                throw new AssertionError("only protocol errors may come out of the parser", e);
            }
        }
    }

    /**
     * A netlink datagram as {@code recvmsg} returned it: split into messages, each decoded the way the
     * socket does (ERROR and DONE with their extended ACK, resolved against a request and turned into
     * the exception a caller sees) and by every family decoder.
     */
    @FuzzTest
    void netlinkDatagram(byte[] datagram) {
        List<NlMessage> messages;
        try {
            messages = NlMessage.split(datagram, datagram.length);
        } catch (DevmemProtocolException expected) {
            return;
        }
        List<GenlMessage> replies = new ArrayList<>();
        for (NlMessage m : messages) {
            try {
                switch (m.type()) {
                    case NetlinkConstants.NLMSG_ERROR -> explain(ExtAck.ofError(m));
                    case NetlinkConstants.NLMSG_DONE -> explain(ExtAck.ofDone(m));
                    default -> {
                        GenlMessage g = GenlMessage.parse(m, "fuzz");
                        replies.add(g);
                        NetdevReplyDecoders.decodeAll(g);
                        EthtoolReplyDecoders.decodeAll(g);
                        decodeFamily(g);
                    }
                }
            } catch (DevmemProtocolException expected) {
                // rejected with a typed error
            }
        }
        try {
            String.valueOf(NetlinkReplyDecoders.opPolicy(replies));
        } catch (DevmemProtocolException expected) {
            // rejected with a typed error
        }
    }

    /** A {@code struct ethtool_rxnfc} (192 bytes) as {@code ETHTOOL_GRXCLSRULE} filled it. */
    @FuzzTest
    void ethtoolRule(byte[] data) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment nfc = arena.allocate(192, 8);
            MemorySegment.copy(data, 0, nfc, ValueLayout.JAVA_BYTE, 0, Math.min(192, data.length));
            String.valueOf(EthtoolReplyDecoders.decodeRule(nfc));
        }
    }

    private static void explain(ExtAck ack) {
        if (!ack.isAck()) {
            String message = NetlinkFailure.of(REQUEST, ack).toException("fuzzed").getMessage();
            assertThat(message).isNotEmpty();
        }
        String.valueOf(ack.policy().map(p -> p.describe()));
    }

    private static void decodeFamily(GenlMessage g) {
        try {
            GenlFamily f = GenlFamily.parse(g);
            String.valueOf(f);
        } catch (DevmemProtocolException expected) {
            // rejected with a typed error
        }
    }

    /** Native memory exactly as long as the input, so a read past it cannot go unnoticed. */
    private static MemorySegment copy(Arena arena, byte[] bytes) {
        MemorySegment s = arena.allocate(Math.max(1, bytes.length), 8).asSlice(0, bytes.length);
        MemorySegment.copy(bytes, 0, s, ValueLayout.JAVA_BYTE, 0, bytes.length);
        return s;
    }
}
