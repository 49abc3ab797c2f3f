package dev.devmem.ffm.ethtool;

import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.OptionalInt;
import java.util.stream.IntStream;

/**
 * An RSS context: which rx queue each slot of the indirection table sends hashed traffic to, and
 * the hash key and function ({@code ethtool -x}).
 *
 * @param context     0 for the device's main context
 * @param hfunc       hash function bits ({@code ETH_RSS_HASH_TOP} 1, {@code XOR} 2, {@code CRC32} 4);
 *                    empty when not reported
 * @param indirection the queue of each table slot; empty when the driver has no table
 * @param hashKey     the key bytes; empty when not reported
 * @param source      {@code netlink} (rss-get) or {@code ioctl} (ETHTOOL_GRXFHINDIR, table only)
 */
public record EthtoolRss(String ifname, int context, OptionalInt hfunc, List<Integer> indirection, byte[] hashKey,
                         String source) {

    public EthtoolRss {
        indirection = List.copyOf(indirection);
        hashKey = hashKey.clone();
    }

    @Override
    public byte[] hashKey() {
        return hashKey.clone();
    }

    /** The distinct queues the table spreads over, ascending. */
    public List<Integer> queues() {
        return indirection.stream().distinct().sorted().toList();
    }

    /** Whether the table is what a driver sets by default: slot i goes to queue i mod {@code rxRings}. */
    public boolean isDefaultSpread(int rxRings) {
        return rxRings > 0 && IntStream.range(0, indirection.size()).allMatch(i -> indirection.get(i) == i % rxRings);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof EthtoolRss r && r.ifname.equals(ifname) && r.context == context && r.hfunc.equals(hfunc)
                && r.indirection.equals(indirection) && Arrays.equals(r.hashKey, hashKey) && r.source.equals(source);
    }

    @Override
    public int hashCode() {
        return ((ifname.hashCode() * 31 + context) * 31 + indirection.hashCode()) * 31 + Arrays.hashCode(hashKey);
    }

    @Override
    public String toString() {
        return "EthtoolRss[" + ifname + ", context " + context + ", hfunc " + hfunc + ", indirection " + indirection
                + ", key " + HexFormat.of().formatHex(hashKey) + ", via " + source + "]";
    }
}
