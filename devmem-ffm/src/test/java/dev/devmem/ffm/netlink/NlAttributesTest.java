package dev.devmem.ffm.netlink;

import dev.devmem.api.DevmemProtocolException;
import org.junit.jupiter.api.Test;

import java.util.HexFormat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class NlAttributesTest {

    private static NlAttributes parse(String hex) throws DevmemProtocolException {
        byte[] b = HexFormat.of().parseHex(hex);
        return NlAttributes.parse(b, 0, b.length, "t");
    }

    @Test
    void unknownAttributesAreSkippedAndKnownOnesFound() throws Exception {
        // type 99 (8 bytes, unknown), type 1 u32 = 5, type 42 with 3 payload bytes + pad, type 2 u16 = 0x102
        NlAttributes a = parse("0c006300" + "0102030405060708" + "08000100" + "05000000"
                + "07002a00" + "aabbcc00" + "06000200" + "02010000");
        assertThat(a.size()).isEqualTo(4);
        assertThat(a.u32(1)).hasValue(5);
        assertThat(a.u16(2)).hasValue(0x102);
        assertThat(a.u32(7)).isEmpty();
        assertThat(a.binary(42)).hasValueSatisfying(v -> assertThat(v).containsExactly(0xaa, 0xbb, 0xcc));
    }

    @Test
    void uintIsFourOrEightBytes() throws Exception {
        NlAttributes a = parse("08000100" + "ffffffff" + "0c000200" + "0100000002000000" + "06000300" + "01000000");
        assertThat(a.uint(1)).hasValue(0xFFFF_FFFFL);
        assertThat(a.uint(2)).hasValue(0x2_0000_0001L);
        assertThatThrownBy(() -> a.uint(3)).isInstanceOf(DevmemProtocolException.class)
                .hasMessageContaining("expected 4 or 8");
        assertThat(parse("08000100" + "feffffff").sint(1)).hasValue(-2);
    }

    @Test
    void fixedWidthTypesInsistOnTheirLength() throws Exception {
        NlAttributes a = parse("0c000100" + "0100000000000000");
        assertThatThrownBy(() -> a.u32(1)).isInstanceOf(DevmemProtocolException.class)
                .hasMessage("t: attribute type 1 has 8 payload bytes, expected 4");
        assertThat(a.u64(1)).hasValue(1);
        assertThatThrownBy(() -> a.requireU32(5)).isInstanceOf(DevmemProtocolException.class)
                .hasMessageContaining("no attribute of type 5");
    }

    @Test
    void stringsLoseTheirNul() throws Exception {
        assertThat(parse("0b000200" + "6e6574646576000000").string(2)).contains("netdev");
        assertThat(parse("0a000200" + "6d676d7400000000").string(2)).contains("mgmt");
    }

    @Test
    void nestsRepeatedAndIndexed() throws Exception {
        // two repeated nests of type 2 (multi-attr), then an indexed array under type 6
        NlAttributes a = parse("0c000280" + "08000100" + "00000000"
                + "0c000280" + "08000100" + "01000000"
                + "1c000600" + "0c000100" + "08000100" + "0a000000" + "0c000200" + "08000100" + "0b000000");
        assertThat(a.nestedAll(2)).hasSize(2);
        assertThat(a.nestedAll(2).get(1).u32(1)).hasValue(1);
        assertThat(a.nestedFlagAt(0)).isTrue();
        assertThat(a.nested(2).orElseThrow().u32(1)).hasValue(0);
        assertThat(a.nestedArray(6)).hasSize(2);
        assertThat(a.nestedArray(6).get(1).u32(1)).hasValue(11);
        assertThat(a.nestedArray(9)).isEmpty();
    }

    @Test
    void lengthsThatLeaveTheMessageAreProtocolErrors() {
        assertThatThrownBy(() -> parse("10000100" + "01000000"))
                .isInstanceOf(DevmemProtocolException.class).hasMessageContaining("claims length 16 but 8 bytes remain");
        assertThatThrownBy(() -> parse("02000100" + "01000000"))
                .isInstanceOf(DevmemProtocolException.class).hasMessageContaining("claims length 2");
        // a nest whose inner attribute overruns the nest (not just the message) is caught when opened
        assertThatThrownBy(() -> parse("0c000280" + "0c000100" + "00000000" + "00000000").nested(2))
                .isInstanceOf(DevmemProtocolException.class);
        byte[] b = new byte[8];
        assertThatThrownBy(() -> NlAttributes.parse(b, 4, 8, "t")).isInstanceOf(DevmemProtocolException.class);
        assertThatThrownBy(() -> NlAttributes.parse(b, -1, 4, "t")).isInstanceOf(DevmemProtocolException.class);
    }

    @Test
    void theLastAttributeMayGoUnpaddedAndShortTailsAreIgnored() throws Exception {
        NlAttributes a = parse("05000100" + "07" + "0000");
        assertThat(a.u8(1)).hasValue(7);
        assertThat(parse("").size()).isZero();
    }
}
