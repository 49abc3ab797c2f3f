package dev.devmem.ffm.ethtool;

import dev.devmem.ffm.netlink.AttributeSet;

/**
 * The numbers and names of the {@code ethtool} generic-netlink family
 * ({@code Documentation/netlink/specs/ethtool.yaml}, Linux 6.18) that NIC setup uses. The family
 * numbers its messages per direction: a request's command id and its reply's differ (rings-get is
 * 15, its reply 16), so both are kept here and replies are checked against the reply id.
 */
public final class EthtoolSpec {
    private EthtoolSpec() {
    }

    public static final String FAMILY = "ethtool";
    public static final String GROUP_MONITOR = "monitor";

    // user -> kernel commands
    public static final int MSG_STRSET_GET = 1;
    public static final int MSG_FEATURES_GET = 11;
    public static final int MSG_FEATURES_SET = 12;
    public static final int MSG_RINGS_GET = 15;
    public static final int MSG_RINGS_SET = 16;
    public static final int MSG_CHANNELS_GET = 17;
    public static final int MSG_CHANNELS_SET = 18;
    public static final int MSG_RSS_GET = 38;
    /** Linux 6.17+: RSS configuration over netlink (older kernels: the SIOCETHTOOL ioctl only). */
    public static final int MSG_RSS_SET = 48;
    public static final int MSG_RSS_CREATE_ACT = 49;
    public static final int MSG_RSS_DELETE_ACT = 50;

    // kernel -> user replies
    public static final int REPLY_STRSET_GET = 1;
    public static final int REPLY_FEATURES_GET = 11;
    public static final int REPLY_FEATURES_SET = 12;
    public static final int REPLY_RINGS_GET = 16;
    public static final int REPLY_CHANNELS_GET = 18;
    public static final int REPLY_RSS_GET = 38;

    // header
    public static final int HEADER_DEV_INDEX = 1;
    public static final int HEADER_DEV_NAME = 2;
    public static final int HEADER_FLAGS = 3;
    public static final int HEADER_PHY_INDEX = 4;
    public static final int FLAG_COMPACT_BITSETS = 1;
    public static final int FLAG_OMIT_REPLY = 2;
    public static final int FLAG_STATS = 4;

    // bitset
    public static final int BITSET_NOMASK = 1;
    public static final int BITSET_SIZE = 2;
    public static final int BITSET_BITS = 3;
    public static final int BITSET_VALUE = 4;
    public static final int BITSET_MASK = 5;
    public static final int BITSET_BITS_BIT = 1;
    public static final int BITSET_BIT_INDEX = 1;
    public static final int BITSET_BIT_NAME = 2;
    public static final int BITSET_BIT_VALUE = 3;

    // strset
    public static final int STRSET_HEADER = 1;
    public static final int STRSET_STRINGSETS = 2;
    public static final int STRSET_COUNTS_ONLY = 3;
    public static final int STRINGSETS_STRINGSET = 1;
    public static final int STRINGSET_ID = 1;
    public static final int STRINGSET_COUNT = 2;
    public static final int STRINGSET_STRINGS = 3;
    public static final int STRINGS_STRING = 1;
    public static final int STRING_INDEX = 1;
    public static final int STRING_VALUE = 2;
    /** {@code ETH_SS_FEATURES}: the names of netdev feature bits, the same for every device. */
    public static final int ETH_SS_FEATURES = 4;

    // rings
    public static final int RINGS_HEADER = 1;
    public static final int RINGS_RX_MAX = 2;
    public static final int RINGS_RX_MINI_MAX = 3;
    public static final int RINGS_RX_JUMBO_MAX = 4;
    public static final int RINGS_TX_MAX = 5;
    public static final int RINGS_RX = 6;
    public static final int RINGS_RX_MINI = 7;
    public static final int RINGS_RX_JUMBO = 8;
    public static final int RINGS_TX = 9;
    public static final int RINGS_RX_BUF_LEN = 10;
    public static final int RINGS_TCP_DATA_SPLIT = 11;
    public static final int RINGS_CQE_SIZE = 12;
    public static final int RINGS_TX_PUSH = 13;
    public static final int RINGS_RX_PUSH = 14;
    public static final int RINGS_TX_PUSH_BUF_LEN = 15;
    public static final int RINGS_TX_PUSH_BUF_LEN_MAX = 16;
    public static final int RINGS_HDS_THRESH = 17;
    public static final int RINGS_HDS_THRESH_MAX = 18;

    // channels
    public static final int CHANNELS_HEADER = 1;
    public static final int CHANNELS_RX_MAX = 2;
    public static final int CHANNELS_TX_MAX = 3;
    public static final int CHANNELS_OTHER_MAX = 4;
    public static final int CHANNELS_COMBINED_MAX = 5;
    public static final int CHANNELS_RX_COUNT = 6;
    public static final int CHANNELS_TX_COUNT = 7;
    public static final int CHANNELS_OTHER_COUNT = 8;
    public static final int CHANNELS_COMBINED_COUNT = 9;

    // features
    public static final int FEATURES_HEADER = 1;
    public static final int FEATURES_HW = 2;
    public static final int FEATURES_WANTED = 3;
    public static final int FEATURES_ACTIVE = 4;
    public static final int FEATURES_NOCHANGE = 5;
    /** The feature flow steering needs; bit numbers move between kernels, so it is matched by name. */
    public static final String FEATURE_NTUPLE = "rx-ntuple-filter";

    // rss
    public static final int RSS_HEADER = 1;
    public static final int RSS_CONTEXT = 2;
    public static final int RSS_HFUNC = 3;
    public static final int RSS_INDIR = 4;
    public static final int RSS_HKEY = 5;
    public static final int RSS_INPUT_XFRM = 6;
    public static final int RSS_START_CONTEXT = 7;
    public static final int RSS_FLOW_HASH = 8;

    public static final AttributeSet HEADER = AttributeSet.named("header")
            .attr(HEADER_DEV_INDEX, "dev-index").attr(HEADER_DEV_NAME, "dev-name")
            .attr(HEADER_FLAGS, "flags").attr(HEADER_PHY_INDEX, "phy-index")
            .build();

    public static final AttributeSet BITSET_BIT = AttributeSet.named("bitset-bit")
            .attr(BITSET_BIT_INDEX, "index").attr(BITSET_BIT_NAME, "name").attr(BITSET_BIT_VALUE, "value")
            .build();

    public static final AttributeSet BITSET_BITS_SET = AttributeSet.named("bitset-bits")
            .nest(BITSET_BITS_BIT, "bit", BITSET_BIT)
            .build();

    public static final AttributeSet BITSET = AttributeSet.named("bitset")
            .attr(BITSET_NOMASK, "nomask").attr(BITSET_SIZE, "size").nest(BITSET_BITS, "bits", BITSET_BITS_SET)
            .attr(BITSET_VALUE, "value").attr(BITSET_MASK, "mask")
            .build();

    public static final AttributeSet STRINGSET = AttributeSet.named("stringset")
            .attr(STRINGSET_ID, "id").attr(STRINGSET_COUNT, "count").attr(STRINGSET_STRINGS, "strings")
            .build();

    public static final AttributeSet STRINGSETS = AttributeSet.named("stringsets")
            .nest(STRINGSETS_STRINGSET, "stringset", STRINGSET)
            .build();

    public static final AttributeSet STRSET = AttributeSet.named("strset")
            .nest(STRSET_HEADER, "header", HEADER).nest(STRSET_STRINGSETS, "stringsets", STRINGSETS)
            .attr(STRSET_COUNTS_ONLY, "counts-only")
            .build();

    public static final AttributeSet RINGS = AttributeSet.named("rings")
            .nest(RINGS_HEADER, "header", HEADER)
            .attr(RINGS_RX_MAX, "rx-max").attr(RINGS_RX_MINI_MAX, "rx-mini-max")
            .attr(RINGS_RX_JUMBO_MAX, "rx-jumbo-max").attr(RINGS_TX_MAX, "tx-max")
            .attr(RINGS_RX, "rx").attr(RINGS_RX_MINI, "rx-mini").attr(RINGS_RX_JUMBO, "rx-jumbo")
            .attr(RINGS_TX, "tx").attr(RINGS_RX_BUF_LEN, "rx-buf-len")
            .attr(RINGS_TCP_DATA_SPLIT, "tcp-data-split").attr(RINGS_CQE_SIZE, "cqe-size")
            .attr(RINGS_TX_PUSH, "tx-push").attr(RINGS_RX_PUSH, "rx-push")
            .attr(RINGS_TX_PUSH_BUF_LEN, "tx-push-buf-len").attr(RINGS_TX_PUSH_BUF_LEN_MAX, "tx-push-buf-len-max")
            .attr(RINGS_HDS_THRESH, "hds-thresh").attr(RINGS_HDS_THRESH_MAX, "hds-thresh-max")
            .build();

    public static final AttributeSet CHANNELS = AttributeSet.named("channels")
            .nest(CHANNELS_HEADER, "header", HEADER)
            .attr(CHANNELS_RX_MAX, "rx-max").attr(CHANNELS_TX_MAX, "tx-max")
            .attr(CHANNELS_OTHER_MAX, "other-max").attr(CHANNELS_COMBINED_MAX, "combined-max")
            .attr(CHANNELS_RX_COUNT, "rx-count").attr(CHANNELS_TX_COUNT, "tx-count")
            .attr(CHANNELS_OTHER_COUNT, "other-count").attr(CHANNELS_COMBINED_COUNT, "combined-count")
            .build();

    public static final AttributeSet FEATURES = AttributeSet.named("features")
            .nest(FEATURES_HEADER, "header", HEADER)
            .nest(FEATURES_HW, "hw", BITSET).nest(FEATURES_WANTED, "wanted", BITSET)
            .nest(FEATURES_ACTIVE, "active", BITSET).nest(FEATURES_NOCHANGE, "nochange", BITSET)
            .build();

    public static final AttributeSet RSS = AttributeSet.named("rss")
            .nest(RSS_HEADER, "header", HEADER)
            .attr(RSS_CONTEXT, "context").attr(RSS_HFUNC, "hfunc").attr(RSS_INDIR, "indir")
            .attr(RSS_HKEY, "hkey").attr(RSS_INPUT_XFRM, "input-xfrm").attr(RSS_START_CONTEXT, "start-context")
            .attr(RSS_FLOW_HASH, "flow-hash")
            .build();
}
