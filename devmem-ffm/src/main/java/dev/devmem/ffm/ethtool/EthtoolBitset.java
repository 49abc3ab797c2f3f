package dev.devmem.ffm.ethtool;

import dev.devmem.api.DevmemProtocolException;
import dev.devmem.ffm.netlink.NlAttributes;

import java.util.BitSet;
import java.util.Collections;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

import static dev.devmem.ffm.ethtool.EthtoolSpec.*;

/**
 * One ethtool bitset as the kernel sent it, in either form:
 * <ul>
 * <li><b>compact</b> ({@code ETHTOOL_FLAG_COMPACT_BITSETS}): {@code size}, {@code value} and
 *     {@code mask} as arrays of host-order u32 words; no names, so a caller needs the string set;</li>
 * <li><b>verbose</b>: a {@code bits} nest with one {@code bit} per listed bit ({@code index},
 *     {@code name}, a {@code value} flag). Without a mask ({@code nomask}) only the set bits are
 *     listed; with one, the listed bits are the mask and the flag says which are set.</li>
 * </ul>
 *
 * @param value which bits are set
 * @param mask  which bits the set speaks about; empty for a list ({@code nomask}), where every bit counts
 * @param names the names verbose bits carried, by index
 */
public record EthtoolBitset(int size, BitSet value, Optional<BitSet> mask, Map<Integer, String> names,
                            boolean compact) {

    public EthtoolBitset {
        value = (BitSet) value.clone();
        mask = mask.map(m -> (BitSet) m.clone());
        names = Collections.unmodifiableMap(new TreeMap<>(names));
    }

    @Override
    public BitSet value() {
        return (BitSet) value.clone();
    }

    @Override
    public Optional<BitSet> mask() {
        return mask.map(m -> (BitSet) m.clone());
    }

    public boolean get(int index) {
        return value.get(index);
    }

    /** Whether the set speaks about bit {@code index}: always for a list, else when the mask has it. */
    public boolean covers(int index) {
        return mask.map(m -> m.get(index)).orElse(index < size);
    }

    static EthtoolBitset parse(NlAttributes a) throws DevmemProtocolException {
        boolean nomask = a.has(BITSET_NOMASK);
        int size = a.u32(BITSET_SIZE).orElse(0);
        if (size < 0) {
            throw new DevmemProtocolException("ethtool bitset: size " + Integer.toUnsignedString(size)
                    + " bits is beyond any set the kernel has");
        }
        Optional<byte[]> compactValue = a.binary(BITSET_VALUE);
        if (compactValue.isPresent()) {
            BitSet value = words(compactValue.get(), size, "value");
            Optional<BitSet> mask = Optional.empty();
            if (!nomask) {
                byte[] m = a.binary(BITSET_MASK).orElseThrow(() ->
                        new DevmemProtocolException("ethtool bitset: compact form without nomask has no mask"));
                mask = Optional.of(words(m, size, "mask"));
            }
            return new EthtoolBitset(size, value, mask, Map.of(), true);
        }
        BitSet value = new BitSet();
        BitSet mask = new BitSet();
        Map<Integer, String> names = new TreeMap<>();
        Optional<NlAttributes> bits = a.nested(BITSET_BITS);
        if (bits.isPresent()) {
            for (NlAttributes bit : bits.get().nestedAll(BITSET_BITS_BIT)) {
                int index = bit.requireU32(BITSET_BIT_INDEX);
                if (index < 0 || (size > 0 && index >= size)) {
                    throw new DevmemProtocolException("ethtool bitset: bit " + Integer.toUnsignedString(index)
                            + " outside a set of " + size);
                }
                bit.string(BITSET_BIT_NAME).ifPresent(n -> names.put(index, n));
                if (nomask || bit.has(BITSET_BIT_VALUE)) {
                    value.set(index);
                }
                mask.set(index);
            }
        }
        return new EthtoolBitset(size, value, nomask ? Optional.empty() : Optional.of(mask), names, false);
    }

    private static BitSet words(byte[] b, int size, String what) throws DevmemProtocolException {
        long need = ((long) size + 31) / 32 * 4;
        if (b.length < need) {
            throw new DevmemProtocolException("ethtool bitset: " + what + " has " + b.length + " bytes for "
                    + size + " bits");
        }
        BitSet s = new BitSet(size);
        for (int i = 0; i < size; i++) {
            int word = (b[i / 32 * 4] & 0xFF) | (b[i / 32 * 4 + 1] & 0xFF) << 8
                    | (b[i / 32 * 4 + 2] & 0xFF) << 16 | (b[i / 32 * 4 + 3] & 0xFF) << 24;
            if ((word >>> (i % 32) & 1) != 0) {
                s.set(i);
            }
        }
        return s;
    }
}
