package dev.devmem.ffm.netlink;

import org.junit.jupiter.api.Test;

import java.util.OptionalInt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class GenlMessageWriterTest {
    private static final AttributeSet INNER = AttributeSet.named("inner").attr(1, "a").attr(2, "b").build();
    private static final AttributeSet ROOT = AttributeSet.named("root")
            .attr(1, "byte").attr(2, "short").attr(3, "name").attr(4, "big").attr(5, "on")
            .nest(6, "one", INNER).nest(7, "many", INNER).build();

    @Test
    void everyTypeIsPaddedToFourBytesAndRecorded() throws Exception {
        GenlRequest r = new GenlMessageWriter("test op", 0x1234, 9, 2, ROOT)
                .u8(1, 0xAB)                       // @20: 5 + 3 pad
                .u16(2, 0xBEEF)                    // @28: 6 + 2 pad
                .string(3, "abc")                  // @36: 8 (NUL included)
                .u64(4, 0x0102030405060708L)       // @44: 12
                .flag(5)                           // @56: 4
                .beginNest(6).u32(1, 1).endNest()  // @60: 12
                .uint(4, 5)                        // @72: 8 (fits in 32 bits)
                .uint(4, 1L << 40)                 // @80: 12
                .build();
        assertThat(r.hex()).isEqualTo(""
                + "5c000000" + "3412" + "0000" + "00000000" + "00000000" + "09020000"
                + "05000100" + "ab000000"
                + "06000200" + "efbe0000"
                + "08000300" + "61626300"
                + "0c000400" + "0807060504030201"
                + "04000500"
                + "0c000680" + "08000100" + "01000000"
                + "08000400" + "05000000"
                + "0c000400" + "0000000000010000");
        assertThat(r.attributeAt(20)).contains("root.byte");
        assertThat(r.attributeAt(56)).contains("root.on");
        assertThat(r.attributeAt(60)).contains("root.one");
        assertThat(r.attributeAt(64)).contains("root.one.a");
        // what we wrote reads back
        NlMessage m = NlMessage.of(r.encode(0, 1));
        NlAttributes a = GenlMessage.parse(m, "t").attributes();
        assertThat(a.u8(1)).hasValue(0xAB);
        assertThat(a.u16(2)).hasValue(0xBEEF);
        assertThat(a.string(3)).contains("abc");
        assertThat(a.u64(4)).hasValue(0x0102030405060708L);
        assertThat(a.has(5)).isTrue();
        assertThat(a.nested(6).orElseThrow().u32(1)).hasValue(1);
    }

    @Test
    void repeatedNestsAreIndexedPerParentAndType() {
        GenlRequest r = new GenlMessageWriter("op", 20, 1, 1, ROOT)
                .beginArrayElement(7).u32(2, 0).endNest()
                .beginArrayElement(7).u32(2, 0).endNest()
                .beginNest(6).beginArrayElement(9).u32(1, 0).endNest().endNest()
                .build();
        assertThat(r.attributeAt(20)).contains("root.many[0]");
        assertThat(r.attributeAt(32)).contains("root.many[1]");
        assertThat(r.attributeAt(36)).contains("root.many[1].b");
        assertThat(r.attributeAt(44)).contains("root.one");
        assertThat(r.attributeAt(48)).contains("root.one.#9[0]");
        assertThat(r.attributeAt(52)).contains("root.one.#9[0].#1");
        assertThat(r.missingAttribute(1, OptionalInt.of(32))).isEqualTo("root.many[1].a");
        assertThat(r.missingAttribute(8, OptionalInt.empty())).isEqualTo("root.#8");
    }

    @Test
    void misuseIsRefused() {
        GenlMessageWriter w = new GenlMessageWriter("op", 20, 1, 1, ROOT).beginNest(6);
        assertThatThrownBy(w::build).isInstanceOf(IllegalStateException.class).hasMessageContaining("root.one");
        w.endNest();
        assertThatThrownBy(w::endNest).isInstanceOf(IllegalStateException.class);
        w.build();
        assertThatThrownBy(() -> w.u32(1, 1)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> new GenlMessageWriter("op", 20, 1, 1, ROOT).u32(0x8001, 1))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new GenlMessageWriter("op", 20, 1, 1, ROOT).binary(1, new byte[70_000]))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new GenlMessageWriter("op", 0x10000, 1, 1, ROOT))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
