package dev.devmem.ffm.ethtool;

import dev.devmem.ffm.netlink.AttributeSet;
import dev.devmem.ffm.netlink.GenlMessage;
import dev.devmem.ffm.netlink.GenlMessageWriter;
import dev.devmem.ffm.netlink.NlAttributes;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetAddress;
import java.util.BitSet;
import java.util.HexFormat;
import java.util.Optional;
import java.util.OptionalInt;

import static dev.devmem.ffm.ethtool.EthtoolSpec.*;
import static org.assertj.core.api.Assertions.assertThat;

/** The byte layouts NIC setup writes and reads, checked without a kernel against the uapi offsets. */
class EthtoolEncodingTest {

    @Test
    void structSizesAreTheKernels() {
        assertThat(EthtoolIoctl.IFREQ.byteSize()).isEqualTo(40);
        assertThat(EthtoolIoctl.IFREQ_DATA).isEqualTo(16);
        assertThat(EthtoolIoctl.RXNFC_SIZE).isEqualTo(192); // gcc, ABI fact sheet section 9
        // fs is 168 bytes: location at 160 plus 4 bytes of tail padding (its u64 ring_cookie aligns it to 8)
        assertThat(EthtoolIoctl.RXNFC_FS + 168).isEqualTo(EthtoolIoctl.RXNFC_RULE_CNT);
    }

    @Test
    void aFiveTupleV4RuleIsWrittenAtTheUapiOffsetsAndReadsBack() throws Exception {
        FlowRuleSpec spec = FlowRuleSpec.tcp(InetAddress.getByName("10.0.0.2"), 5000,
                InetAddress.getByName("10.0.0.1"), 5201, 3);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment nfc = a.allocate(EthtoolIoctl.RXNFC_SIZE, 8);
            EthtoolIoctl.encodeRule(spec, nfc);
            byte[] b = nfc.toArray(ValueLayout.JAVA_BYTE);
            HexFormat hex = HexFormat.of();
            assertThat(nfc.get(ValueLayout.JAVA_INT, 0)).isEqualTo(EthtoolIoctl.ETHTOOL_SRXCLSRLINS);
            assertThat(nfc.get(ValueLayout.JAVA_INT, 4)).isEqualTo(1); // TCP_V4_FLOW
            assertThat(nfc.get(ValueLayout.JAVA_INT, 16)).isEqualTo(1); // fs.flow_type
            // h_u.tcp_ip4_spec at fs+4 = 20: src, dst, sport, dport in network order
            assertThat(hex.formatHex(b, 20, 32)).isEqualTo("0a000002" + "0a000001" + "1388" + "1451");
            // m_u at fs+76 = 92: all ones for every given field, tos not matched
            assertThat(hex.formatHex(b, 92, 105)).isEqualTo("ffffffff" + "ffffffff" + "ffff" + "ffff" + "00");
            assertThat(nfc.get(ValueLayout.JAVA_LONG, 16 + 152)).isEqualTo(3L); // ring_cookie = queue
            assertThat(nfc.get(ValueLayout.JAVA_INT, 16 + 160)).isEqualTo(FlowRuleSpec.LOC_ANY);

            nfc.set(ValueLayout.JAVA_INT, 16 + 160, 1023);
            FlowRule r = EthtoolIoctl.decodeRule("eth0", nfc);
            assertThat(r.location()).isEqualTo(1023);
            assertThat(r.type()).hasValue(FlowType.TCP_V4);
            assertThat(r.queue()).hasValue(3);
            assertThat(r.matches(spec)).isTrue();
            assertThat(r.matches(spec.threeTuple())).isFalse();
            assertThat(r.describe()).isEqualTo("tcp4 src 10.0.0.2:5000 dst 10.0.0.1:5201 -> queue 3 @ 1023");
        }
    }

    @Test
    void aThreeTupleV6RuleLeavesTheSourceUnmatched() throws Exception {
        FlowRuleSpec spec = FlowRuleSpec.tcp(InetAddress.getByName("fd00::1"), 9000, 2);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment nfc = a.allocate(EthtoolIoctl.RXNFC_SIZE, 8);
            EthtoolIoctl.encodeRule(spec, nfc);
            assertThat(nfc.get(ValueLayout.JAVA_INT, 4)).isEqualTo(5); // TCP_V6_FLOW
            byte[] b = nfc.toArray(ValueLayout.JAVA_BYTE);
            HexFormat hex = HexFormat.of();
            // tcp_ip6_spec: src 0 (16), dst 16 (16), psrc 32, pdst 34
            assertThat(hex.formatHex(b, 20 + 16, 20 + 32)).isEqualTo("fd000000000000000000000000000001");
            assertThat(hex.formatHex(b, 92, 92 + 16)).isEqualTo("00".repeat(16));
            assertThat(hex.formatHex(b, 92 + 16, 92 + 36)).isEqualTo("ff".repeat(16) + "0000" + "ffff");
            FlowRule r = EthtoolIoctl.decodeRule("eth0", nfc);
            assertThat(r.src()).isEmpty();
            assertThat(r.srcPort()).isEmpty();
            assertThat(r.dst()).hasValue(InetAddress.getByName("fd00::1"));
            assertThat(r.dstPort()).isEqualTo(OptionalInt.of(9000));
            assertThat(r.matches(spec)).isTrue();
        }
    }

    private static NlAttributes roundTrip(java.util.function.Consumer<GenlMessageWriter> body) throws Exception {
        AttributeSet top = AttributeSet.named("t").nest(1, "set", BITSET).build();
        GenlMessageWriter w = new GenlMessageWriter("test", 0x20, 1, 1, top);
        w.beginNest(1);
        body.accept(w);
        w.endNest();
        byte[] m = w.build().encode(0, 1);
        return NlAttributes.parse(m, GenlMessage.ATTRIBUTES_OFFSET, m.length - GenlMessage.ATTRIBUTES_OFFSET, "t")
                .nested(1).orElseThrow();
    }

    @Test
    void compactBitsetsAreHostOrderWords() throws Exception {
        // bits 0, 33 and 38 of a 40-bit set, mask 33 and 38
        NlAttributes a = roundTrip(w -> w.u32(BITSET_SIZE, 40)
                .binary(BITSET_VALUE, new byte[] {1, 0, 0, 0, 0x42, 0, 0, 0})
                .binary(BITSET_MASK, new byte[] {0, 0, 0, 0, 0x42, 0, 0, 0}));
        EthtoolBitset b = EthtoolBitset.parse(a);
        assertThat(b.compact()).isTrue();
        assertThat(b.value()).isEqualTo(BitSet.valueOf(new long[] {1L | 1L << 33 | 1L << 38}));
        assertThat(b.mask()).hasValue(BitSet.valueOf(new long[] {1L << 33 | 1L << 38}));
        assertThat(b.covers(0)).isFalse();
        assertThat(b.covers(38)).isTrue();
    }

    @Test
    void verboseListsAreSetBitsAndMaskedListsCarryValueFlags() throws Exception {
        NlAttributes list = roundTrip(w -> w.flag(BITSET_NOMASK).u32(BITSET_SIZE, 64).beginNest(BITSET_BITS)
                .beginArrayElement(BITSET_BITS_BIT).u32(BITSET_BIT_INDEX, 38).string(BITSET_BIT_NAME, "rx-ntuple-filter").endNest()
                .endNest());
        EthtoolBitset l = EthtoolBitset.parse(list);
        assertThat(l.compact()).isFalse();
        assertThat(l.get(38)).isTrue();
        assertThat(l.mask()).isEmpty();
        assertThat(l.names()).containsEntry(38, "rx-ntuple-filter");

        NlAttributes masked = roundTrip(w -> w.u32(BITSET_SIZE, 64).beginNest(BITSET_BITS)
                .beginArrayElement(BITSET_BITS_BIT).u32(BITSET_BIT_INDEX, 14).string(BITSET_BIT_NAME, "rx-gro")
                .flag(BITSET_BIT_VALUE).endNest()
                .beginArrayElement(BITSET_BITS_BIT).u32(BITSET_BIT_INDEX, 38).string(BITSET_BIT_NAME, "rx-ntuple-filter").endNest()
                .endNest());
        EthtoolBitset m = EthtoolBitset.parse(masked);
        assertThat(m.get(14)).isTrue();
        assertThat(m.get(38)).isFalse();
        assertThat(m.mask()).isEqualTo(Optional.of(BitSet.valueOf(new long[] {1L << 14 | 1L << 38})));
    }

    @Test
    void ringsChangeIsImmutableAndRefusesOutOfRangeThresholds() {
        RingsChange none = RingsChange.none();
        RingsChange split = none.withTcpDataSplit(TcpDataSplit.ENABLED).withHdsThresh(0);
        assertThat(none.isEmpty()).isTrue();
        assertThat(split.tcpDataSplit()).hasValue(TcpDataSplit.ENABLED);
        assertThat(split.hdsThresh().getAsLong()).isZero();
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> none.withHdsThresh(-1))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
