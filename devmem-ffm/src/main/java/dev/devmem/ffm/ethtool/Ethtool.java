package dev.devmem.ffm.ethtool;

import dev.devmem.api.DevmemException;
import dev.devmem.api.DevmemProtocolException;
import dev.devmem.api.DevmemUnsupportedException;
import dev.devmem.api.Errno;
import dev.devmem.api.NetlinkException;
import dev.devmem.api.SyscallException;
import dev.devmem.ffm.netlink.AttributeSet;
import dev.devmem.ffm.netlink.GenlFamily;
import dev.devmem.ffm.netlink.GenlMessage;
import dev.devmem.ffm.netlink.GenlMessageWriter;
import dev.devmem.ffm.netlink.GenlRequest;
import dev.devmem.ffm.netlink.NetlinkSocket;
import dev.devmem.ffm.netlink.NlAttributes;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;

import static dev.devmem.ffm.ethtool.EthtoolSpec.*;

/**
 * The kernel's {@code ethtool} generic-netlink family, for what devmem NIC setup reads and changes:
 * ring parameters (header split), channels, features (ntuple) and RSS. Flow-steering rules and driver
 * info have no netlink form; they are in {@link EthtoolIoctl}, which {@link #ioctl()} shares.
 *
 * <p>Interfaces are named ({@code dev-name} in the request header) and looked up in the network
 * namespace of the thread that called {@link #open()}. Gets need no privilege; sets need
 * CAP_NET_ADMIN in the namespace's user namespace. A refusal is a {@link NetlinkException} with the
 * kernel's extack text ({@code "setting TCP data split is not supported"}) and the rejected attribute
 * by name ({@code rings.tcp-data-split}).
 *
 * <p>Support is taken from the family's op list: RSS-set over netlink exists from Linux 6.17; before,
 * {@link #setRssIndirection} uses {@code ETHTOOL_SRXFHINDIR}. Calls are serialized on one socket.
 */
public final class Ethtool implements AutoCloseable {
    private final NetlinkSocket socket;
    private final GenlFamily family;
    private volatile List<String> featureNames;
    private EthtoolIoctl ioctl;

    private Ethtool(NetlinkSocket socket, GenlFamily family) {
        this.socket = socket;
        this.family = family;
    }

    /** Opens a socket in the calling thread's network namespace and resolves the family. */
    public static Ethtool open() throws DevmemException {
        NetlinkSocket s = NetlinkSocket.open();
        try {
            return new Ethtool(s, GenlFamily.resolve(s, FAMILY));
        } catch (NetlinkException e) {
            s.close();
            if (e.errno().equals(Errno.ENOENT)) {
                throw new DevmemUnsupportedException(FAMILY, "5.6", "this kernel has no \"ethtool\" generic-netlink "
                        + "family (Linux 5.6+, CONFIG_ETHTOOL_NETLINK)", e);
            }
            throw e;
        } catch (DevmemException | RuntimeException | Error e) {
            s.close();
            throw e;
        }
    }

    public GenlFamily family() {
        return family;
    }

    /** Whether this kernel sets RSS over netlink (Linux 6.17+); otherwise the ioctl does it. */
    public boolean hasRssSet() {
        return family.canDo(MSG_RSS_SET);
    }

    /** The ioctl side, opened on first use in the namespace of the thread that first asks. */
    public synchronized EthtoolIoctl ioctl() throws SyscallException {
        if (ioctl == null) {
            ioctl = EthtoolIoctl.open();
        }
        return ioctl;
    }

    // ---- rings

    /** rings-get ({@code ethtool -g}). */
    public EthtoolRings rings(String ifname) throws DevmemException {
        GenlRequest r = request("rings-get", MSG_RINGS_GET, RINGS, ifname, 0).build();
        return EthtoolRings.parse(ifname, one(r, REPLY_RINGS_GET, ifname, "rings-get"));
    }

    /** rings-set ({@code ethtool -G}): changes only the parameters {@code change} holds. */
    public void setRings(String ifname, RingsChange change) throws DevmemException {
        Objects.requireNonNull(change, "change");
        if (change.isEmpty()) {
            throw new IllegalArgumentException("a rings-set needs at least one parameter");
        }
        GenlRequest r = ringsSetRequest(ifname, change);
        socket.request(r, EthtoolExplanations.of("rings-set", ifname));
    }

    GenlRequest ringsSetRequest(String ifname, RingsChange change) {
        GenlMessageWriter w = request("rings-set", MSG_RINGS_SET, RINGS, ifname, 0);
        change.rx().ifPresent(v -> w.u32(RINGS_RX, v));
        change.tx().ifPresent(v -> w.u32(RINGS_TX, v));
        change.rxBufLen().ifPresent(v -> w.u32(RINGS_RX_BUF_LEN, v));
        change.tcpDataSplit().ifPresent(v -> w.u8(RINGS_TCP_DATA_SPLIT, v.value()));
        change.hdsThresh().ifPresent(v -> w.u32(RINGS_HDS_THRESH, (int) v));
        return w.build();
    }

    // ---- channels

    /** channels-get ({@code ethtool -l}). */
    public EthtoolChannels channels(String ifname) throws DevmemException {
        GenlRequest r = request("channels-get", MSG_CHANNELS_GET, CHANNELS, ifname, 0).build();
        return EthtoolChannels.parse(ifname, one(r, REPLY_CHANNELS_GET, ifname, "channels-get"));
    }

    // ---- features

    /** The kernel's feature names by bit ({@code strset-get} of {@code ETH_SS_FEATURES}); cached. */
    public List<String> featureNames() throws DevmemException {
        List<String> names = featureNames;
        if (names == null) {
            GenlMessageWriter w = family.writer("strset-get features", MSG_STRSET_GET, STRSET);
            // the kernel wants a header even for a set that belongs to no device: an empty one
            w.beginNest(STRSET_HEADER).endNest();
            w.beginNest(STRSET_STRINGSETS).beginArrayElement(STRINGSETS_STRINGSET)
                    .u32(STRINGSET_ID, ETH_SS_FEATURES).endNest().endNest();
            GenlRequest r = w.build();
            names = parseStringSet(one(r, REPLY_STRSET_GET, "-", "strset-get"), ETH_SS_FEATURES);
            featureNames = names;
        }
        return names;
    }

    /** features-get ({@code ethtool -k}) in the verbose bitset form, names checked against the string set. */
    public EthtoolFeatures features(String ifname) throws DevmemException {
        return features(ifname, false);
    }

    /**
     * features-get, asking for compact bitsets (bit arrays, named through the string set) or verbose
     * ones (bits listed with their names).
     */
    public EthtoolFeatures features(String ifname, boolean compact) throws DevmemException {
        List<String> names = featureNames();
        GenlRequest r = request("features-get", MSG_FEATURES_GET, FEATURES, ifname,
                compact ? FLAG_COMPACT_BITSETS : 0).build();
        NlAttributes a = one(r, REPLY_FEATURES_GET, ifname, "features-get");
        EthtoolFeatures f = new EthtoolFeatures(ifname, names, bitset(a, FEATURES_HW), bitset(a, FEATURES_WANTED),
                bitset(a, FEATURES_ACTIVE), bitset(a, FEATURES_NOCHANGE));
        for (EthtoolBitset b : List.of(f.hw(), f.wanted(), f.active(), f.nochange())) {
            for (Map.Entry<Integer, String> e : b.names().entrySet()) {
                if (e.getKey() >= names.size() || !names.get(e.getKey()).equals(e.getValue())) {
                    throw new DevmemProtocolException("ethtool features-get " + ifname + ": bit " + e.getKey() + " is \""
                            + e.getValue() + "\" but the string set names it "
                            + (e.getKey() < names.size() ? "\"" + names.get(e.getKey()) + "\"" : "nothing"));
                }
            }
        }
        return f;
    }

    /**
     * features-set ({@code ethtool -K}): asks for each named feature to be on or off, by name, which
     * the kernel resolves ({@code "bit name not found"} for an unknown one). The kernel accepts
     * requests a device cannot follow; the returned {@link FeatureChange} says which those were
     * ({@link FeatureChange#requireApplied()} turns them into an exception).
     */
    public FeatureChange setFeatures(String ifname, Map<String, Boolean> wanted) throws DevmemException {
        Objects.requireNonNull(wanted, "wanted");
        if (wanted.isEmpty()) {
            throw new IllegalArgumentException("a features-set needs at least one feature");
        }
        List<String> names = featureNames();
        GenlRequest r = featuresSetRequest(ifname, wanted);
        List<GenlMessage> replies = socket.request(r, EthtoolExplanations.of("features-set", ifname));
        Map<String, Boolean> notApplied = new LinkedHashMap<>();
        Map<String, Boolean> changed = new LinkedHashMap<>();
        for (GenlMessage m : replies) {
            if (m.cmd() != REPLY_FEATURES_SET) {
                throw new DevmemProtocolException("ethtool features-set " + ifname + ": reply command " + m.cmd()
                        + ", expected " + REPLY_FEATURES_SET);
            }
            Optional<NlAttributes> w = m.attributes().nested(FEATURES_WANTED);
            if (w.isPresent()) {
                collect(EthtoolBitset.parse(w.get()), names, notApplied);
            }
            Optional<NlAttributes> act = m.attributes().nested(FEATURES_ACTIVE);
            if (act.isPresent()) {
                collect(EthtoolBitset.parse(act.get()), names, changed);
            }
        }
        return new FeatureChange(ifname, wanted, notApplied, changed);
    }

    GenlRequest featuresSetRequest(String ifname, Map<String, Boolean> wanted) {
        GenlMessageWriter w = request("features-set", MSG_FEATURES_SET, FEATURES, ifname, 0);
        w.beginNest(FEATURES_WANTED).beginNest(BITSET_BITS);
        for (Map.Entry<String, Boolean> e : wanted.entrySet()) {
            w.beginArrayElement(BITSET_BITS_BIT).string(BITSET_BIT_NAME, e.getKey());
            if (e.getValue()) {
                w.flag(BITSET_BIT_VALUE);
            }
            w.endNest();
        }
        w.endNest().endNest();
        return w.build();
    }

    private static void collect(EthtoolBitset b, List<String> names, Map<String, Boolean> into) {
        BitSet mask = b.mask().orElseGet(() -> {
            BitSet all = new BitSet();
            all.set(0, b.size());
            return all;
        });
        for (int i = mask.nextSetBit(0); i >= 0; i = mask.nextSetBit(i + 1)) {
            into.put(i < names.size() ? names.get(i) : b.names().getOrDefault(i, "#" + i), b.get(i));
        }
    }

    // ---- RSS

    /** The main RSS context ({@code ethtool -x}): over netlink (rss-get), or the ioctl on kernels without it. */
    public EthtoolRss rss(String ifname) throws DevmemException {
        return rss(ifname, 0);
    }

    /** An RSS context by number; contexts other than 0 need netlink. */
    public EthtoolRss rss(String ifname, int context) throws DevmemException {
        if (!family.canDo(MSG_RSS_GET)) {
            if (context != 0) {
                throw new DevmemUnsupportedException(FAMILY + " rss-get", "6.3",
                        "this kernel reads additional RSS contexts only over netlink (rss-get), which it lacks");
            }
            int[] table = ioctl().rxfhIndirection(ifname);
            return new EthtoolRss(ifname, 0, OptionalInt.empty(), Arrays.stream(table).boxed().toList(), new byte[0],
                    "ioctl");
        }
        GenlMessageWriter w = request("rss-get", MSG_RSS_GET, RSS, ifname, 0);
        if (context != 0) {
            w.u32(RSS_CONTEXT, context);
        }
        NlAttributes a = one(w.build(), REPLY_RSS_GET, ifname, "rss-get");
        List<Integer> indir = new ArrayList<>();
        Optional<byte[]> raw = a.binary(RSS_INDIR);
        if (raw.isPresent()) {
            byte[] b = raw.get();
            if (b.length % 4 != 0) {
                throw new DevmemProtocolException("ethtool rss-get " + ifname + ": indir of " + b.length + " bytes");
            }
            for (int i = 0; i < b.length; i += 4) {
                indir.add((b[i] & 0xFF) | (b[i + 1] & 0xFF) << 8 | (b[i + 2] & 0xFF) << 16 | (b[i + 3] & 0xFF) << 24);
            }
        }
        return new EthtoolRss(ifname, a.u32(RSS_CONTEXT).orElse(0), a.u32(RSS_HFUNC), indir,
                a.binary(RSS_HKEY).orElse(new byte[0]), "netlink");
    }

    /**
     * Sets the main context's indirection table: over netlink (rss-set, Linux 6.17+) or with
     * {@code ETHTOOL_SRXFHINDIR}. The table must have the device's size; every entry a queue below
     * the ring count.
     */
    public void setRssIndirection(String ifname, int[] table) throws DevmemException {
        Objects.requireNonNull(table, "table");
        if (table.length == 0) {
            throw new IllegalArgumentException("an empty table means the default spread: use resetRssIndirection");
        }
        writeRssIndirection(ifname, table);
    }

    /** Puts the driver's default spread over every rx ring back (an empty table, either way). */
    public void resetRssIndirection(String ifname) throws DevmemException {
        writeRssIndirection(ifname, new int[0]);
    }

    private void writeRssIndirection(String ifname, int[] table) throws DevmemException {
        if (!hasRssSet()) {
            ioctl().setRxfhIndirection(ifname, table);
            return;
        }
        byte[] b = new byte[table.length * 4];
        for (int i = 0; i < table.length; i++) {
            b[4 * i] = (byte) table[i];
            b[4 * i + 1] = (byte) (table[i] >>> 8);
            b[4 * i + 2] = (byte) (table[i] >>> 16);
            b[4 * i + 3] = (byte) (table[i] >>> 24);
        }
        GenlRequest r = request("rss-set", MSG_RSS_SET, RSS, ifname, 0).binary(RSS_INDIR, b).build();
        socket.request(r, EthtoolExplanations.of("rss-set", ifname));
    }

    /** Closes the netlink socket and the ioctl socket. Idempotent. */
    @Override
    public synchronized void close() {
        socket.close();
        if (ioctl != null) {
            ioctl.close();
        }
    }

    // ---- the request path

    GenlMessageWriter request(String op, int cmd, AttributeSet set, String ifname, int flags) {
        Objects.requireNonNull(ifname, "ifname");
        GenlMessageWriter w = family.writer(op + " " + ifname, cmd, set);
        w.beginNest(1).string(HEADER_DEV_NAME, ifname);
        if (flags != 0) {
            w.u32(HEADER_FLAGS, flags);
        }
        return w.endNest();
    }

    private NlAttributes one(GenlRequest r, int replyCmd, String ifname, String op) throws DevmemException {
        List<GenlMessage> replies = socket.request(r, EthtoolExplanations.of(op, ifname));
        if (replies.size() != 1) {
            throw new DevmemProtocolException(r.operation() + ": expected one reply, got " + replies.size());
        }
        GenlMessage m = replies.getFirst();
        if (m.cmd() != replyCmd) {
            throw new DevmemProtocolException(r.operation() + ": reply command " + m.cmd() + ", expected " + replyCmd);
        }
        return m.attributes();
    }

    private static EthtoolBitset bitset(NlAttributes a, int type) throws DevmemException {
        Optional<NlAttributes> n = a.nested(type);
        if (n.isEmpty()) {
            return new EthtoolBitset(0, new BitSet(), Optional.empty(), Map.of(), false);
        }
        return EthtoolBitset.parse(n.get());
    }

    /** Far above any string set of the kernel (features: under 128); a larger count is a corrupt reply. */
    private static final int MAX_STRINGS = 1 << 16;

    private static List<String> parseStringSet(NlAttributes reply, int id) throws DevmemProtocolException {
        Optional<NlAttributes> sets = reply.nested(STRSET_STRINGSETS);
        if (sets.isPresent()) {
            for (NlAttributes set : sets.get().nestedAll(STRINGSETS_STRINGSET)) {
                if (set.requireU32(STRINGSET_ID) != id) {
                    continue;
                }
                int count = set.requireU32(STRINGSET_COUNT);
                if (count < 0 || count > MAX_STRINGS) {
                    throw new DevmemProtocolException("ethtool strset " + id + ": a count of "
                            + Integer.toUnsignedString(count) + " strings (the kernel's sets hold fewer than "
                            + MAX_STRINGS + ")");
                }
                String[] names = new String[count];
                for (NlAttributes strings : set.nestedAll(STRINGSET_STRINGS)) {
                    for (NlAttributes s : strings.nestedAll(STRINGS_STRING)) {
                        int i = s.requireU32(STRING_INDEX);
                        if (i < 0 || i >= count) {
                            throw new DevmemProtocolException("ethtool strset " + id + ": string " + i + " of " + count);
                        }
                        names[i] = s.string(STRING_VALUE).orElse("");
                    }
                }
                List<String> out = new ArrayList<>(count);
                for (String n : names) {
                    out.add(n == null ? "" : n);
                }
                return List.copyOf(out);
            }
        }
        throw new DevmemProtocolException("ethtool strset-get: the reply has no string set " + id);
    }
}
