package dev.devmem.ffm.ethtool;

import dev.devmem.api.Errno;
import dev.devmem.api.SyscallException;
import dev.devmem.ffm.sys.Syscalls;

import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;

import static dev.devmem.ffm.sys.LinuxConstants.AF_INET;
import static dev.devmem.ffm.sys.LinuxConstants.AF_UNIX;
import static dev.devmem.ffm.sys.LinuxConstants.SIOCETHTOOL;
import static dev.devmem.ffm.sys.LinuxConstants.SOCK_CLOEXEC;
import static dev.devmem.ffm.sys.LinuxConstants.SOCK_DGRAM;
import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;

/**
 * The {@code SIOCETHTOOL} ioctl: the parts of ethtool that have no netlink form on Linux 6.18
 * (driver info, flow-steering rules) or lacked one before (the RSS indirection table before 6.17).
 *
 * <p>The ioctl goes through an ordinary datagram socket, and the kernel looks the interface name up
 * in that socket's network namespace, so everything here happens in the namespace of the thread that
 * called {@link #open()}. Refusals become {@link SyscallException}s naming the command and interface
 * ({@code SIOCETHTOOL ETHTOOL_GRXCLSRLCNT va}) with what the errno means for that command.
 *
 * <p>Calls may come from any thread; each uses its own native memory.
 */
public final class EthtoolIoctl implements AutoCloseable {

    // ethtool commands (include/uapi/linux/ethtool.h)
    public static final int ETHTOOL_GDRVINFO = 0x03;
    public static final int ETHTOOL_GRXRINGS = 0x2d;
    public static final int ETHTOOL_GRXCLSRLCNT = 0x2e;
    public static final int ETHTOOL_GRXCLSRULE = 0x2f;
    public static final int ETHTOOL_GRXCLSRLALL = 0x30;
    public static final int ETHTOOL_SRXCLSRLDEL = 0x31;
    public static final int ETHTOOL_SRXCLSRLINS = 0x32;
    public static final int ETHTOOL_GRXFHINDIR = 0x38;
    public static final int ETHTOOL_SRXFHINDIR = 0x39;
    /** {@code RX_CLS_LOC_SPECIAL}: set in GRXCLSRLCNT's data when the driver accepts LOC_ANY/FIRST/LAST. */
    public static final long RX_CLS_LOC_SPECIAL = 0x8000_0000L;

    /**
     * <pre>
     * struct ifreq { char ifr_name[16]; union { ...; void *ifr_data; ... }; };   // 40 bytes on LP64
     * </pre>
     */
    static final StructLayout IFREQ = MemoryLayout.structLayout(
            MemoryLayout.sequenceLayout(16, JAVA_BYTE).withName("ifr_name"),
            ADDRESS.withName("ifr_data"),
            MemoryLayout.paddingLayout(16));
    static final long IFREQ_DATA = IFREQ.byteOffset(groupElement("ifr_data"));

    /**
     * <pre>
     * struct ethtool_drvinfo {
     *     __u32 cmd; char driver[32]; char version[32]; char fw_version[32]; char bus_info[32];
     *     char erom_version[32]; char reserved2[12]; __u32 n_priv_flags; __u32 n_stats;
     *     __u32 testinfo_len; __u32 eedump_len; __u32 regdump_len;
     * };                                                                          // 196 bytes
     * </pre>
     */
    static final int DRVINFO_SIZE = 196;
    static final int DRVINFO_DRIVER = 4;
    static final int DRVINFO_VERSION = 36;
    static final int DRVINFO_FW_VERSION = 68;
    static final int DRVINFO_BUS_INFO = 100;
    static final int DRVINFO_EROM_VERSION = 132;
    static final int DRVINFO_N_PRIV_FLAGS = 176;

    /**
     * <pre>
     * struct ethtool_rxnfc {
     *     __u32 cmd;  __u32 flow_type;  __u64 data;  struct ethtool_rx_flow_spec fs;   // fs at 16, 168 bytes
     *     union { __u32 rule_cnt; __u32 rss_context; };                             // 184
     *     __u32 rule_locs[];                                                         // 188
     * };                                                                             // sizeof 192
     * struct ethtool_rx_flow_spec {
     *     __u32 flow_type; union ethtool_flow_union h_u;  // 0, 4 (52 bytes)
     *     struct ethtool_flow_ext h_ext;                   // 56 (20 bytes)
     *     union ethtool_flow_union m_u;                    // 76
     *     struct ethtool_flow_ext m_ext;                   // 128
     *     __u64 ring_cookie; __u32 location;               // 152, 160
     * };
     * </pre>
     * {@code tcp_ip4_spec}: ip4src 0, ip4dst 4, psrc 8, pdst 10 (network order), tos 12.
     * {@code tcp_ip6_spec}: ip6src 0, ip6dst 16, psrc 32, pdst 34, tclass 36.
     */
    static final int RXNFC_SIZE = 192;
    static final int RXNFC_CMD = 0;
    static final int RXNFC_FLOW_TYPE = 4;
    static final int RXNFC_DATA = 8;
    static final int RXNFC_FS = 16;
    static final int FS_FLOW_TYPE = 0;
    static final int FS_H_U = 4;
    static final int FS_M_U = 76;
    static final int FS_RING_COOKIE = 152;
    static final int FS_LOCATION = 160;
    static final int RXNFC_RULE_CNT = 184;
    static final int RXNFC_RULE_LOCS = 188;

    private static final ValueLayout.OfShort BE16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED;

    private final int fd;
    private volatile boolean closed;

    private EthtoolIoctl(int fd) {
        this.fd = fd;
    }

    /**
     * Opens the socket the ioctls go through, in the calling thread's network namespace: AF_INET
     * datagram, or AF_UNIX where IPv4 is missing (what the ethtool tool does).
     */
    public static EthtoolIoctl open() throws SyscallException {
        int fd = Syscalls.socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            fd = Syscalls.check(Syscalls.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), "socket(AF_UNIX) for SIOCETHTOOL");
        }
        return new EthtoolIoctl(fd);
    }

    /** {@code ETHTOOL_GDRVINFO} ({@code ethtool -i}). EOPNOTSUPP for devices without a driver (lo). */
    public DriverInfo driverInfo(String ifname) throws SyscallException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment info = a.allocate(DRVINFO_SIZE, 8);
            call(ifname, ETHTOOL_GDRVINFO, info, "ETHTOOL_GDRVINFO");
            return new DriverInfo(ifname, cString(info, DRVINFO_DRIVER, 32), cString(info, DRVINFO_VERSION, 32),
                    cString(info, DRVINFO_FW_VERSION, 32), cString(info, DRVINFO_EROM_VERSION, 32),
                    cString(info, DRVINFO_BUS_INFO, 32), info.get(U32, DRVINFO_N_PRIV_FLAGS),
                    info.get(U32, DRVINFO_N_PRIV_FLAGS + 4), info.get(U32, DRVINFO_N_PRIV_FLAGS + 8),
                    info.get(U32, DRVINFO_N_PRIV_FLAGS + 12), info.get(U32, DRVINFO_N_PRIV_FLAGS + 16));
        }
    }

    /** {@code ETHTOOL_GRXRINGS}: how many rx rings flow steering and RSS can point at. */
    public int rxRings(String ifname) throws SyscallException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment nfc = a.allocate(RXNFC_SIZE, 8);
            call(ifname, ETHTOOL_GRXRINGS, nfc, "ETHTOOL_GRXRINGS");
            return (int) nfc.get(U64, RXNFC_DATA);
        }
    }

    /**
     * How many flow-steering rules there are ({@code ETHTOOL_GRXCLSRLCNT}).
     *
     * @param count            rules in the table
     * @param tableSize        slots in the table
     * @param specialLocations whether the driver picks a slot itself ({@code RX_CLS_LOC_ANY})
     */
    public record RuleCount(int count, int tableSize, boolean specialLocations) {
    }

    public RuleCount ruleCount(String ifname) throws SyscallException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment nfc = a.allocate(RXNFC_SIZE, 8);
            call(ifname, ETHTOOL_GRXCLSRLCNT, nfc, "ETHTOOL_GRXCLSRLCNT");
            long data = nfc.get(U64, RXNFC_DATA);
            return new RuleCount(nfc.get(U32, RXNFC_RULE_CNT), (int) (data & ~RX_CLS_LOC_SPECIAL),
                    (data & RX_CLS_LOC_SPECIAL) != 0);
        }
    }

    /** The slots that hold rules ({@code ETHTOOL_GRXCLSRLCNT} then {@code ETHTOOL_GRXCLSRLALL}). */
    public int[] ruleLocations(String ifname) throws SyscallException {
        int count = ruleCount(ifname).count();
        if (count == 0) {
            return new int[0];
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment nfc = a.allocate(RXNFC_SIZE + 4L * count, 8);
            nfc.set(U32, RXNFC_RULE_CNT, count);
            call(ifname, ETHTOOL_GRXCLSRLALL, nfc, "ETHTOOL_GRXCLSRLALL");
            int n = Math.min(count, nfc.get(U32, RXNFC_RULE_CNT));
            int[] locs = new int[n];
            for (int i = 0; i < n; i++) {
                locs[i] = nfc.get(U32, RXNFC_RULE_LOCS + 4L * i);
            }
            return locs;
        }
    }

    /** The rule in slot {@code location} ({@code ETHTOOL_GRXCLSRULE}); the driver's errno when there is none. */
    public FlowRule rule(String ifname, int location) throws SyscallException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment nfc = a.allocate(RXNFC_SIZE, 8);
            nfc.set(U32, RXNFC_FS + FS_LOCATION, location);
            call(ifname, ETHTOOL_GRXCLSRULE, nfc, "ETHTOOL_GRXCLSRULE");
            return decodeRule(ifname, nfc);
        }
    }

    /** Every rule, in the order the driver lists their slots. */
    public List<FlowRule> rules(String ifname) throws SyscallException {
        List<FlowRule> out = new ArrayList<>();
        for (int loc : ruleLocations(ifname)) {
            out.add(rule(ifname, loc));
        }
        return out;
    }

    /**
     * Inserts a rule ({@code ETHTOOL_SRXCLSRLINS}) and returns the slot it went to: the driver writes
     * the chosen slot back when {@code spec.location()} is {@link FlowRuleSpec#LOC_ANY}.
     */
    public int insertRule(String ifname, FlowRuleSpec spec) throws SyscallException {
        Objects.requireNonNull(spec, "spec");
        try (Arena a = Arena.ofConfined()) {
            MemorySegment nfc = a.allocate(RXNFC_SIZE, 8);
            encodeRule(spec, nfc);
            call(ifname, ETHTOOL_SRXCLSRLINS, nfc, "ETHTOOL_SRXCLSRLINS (" + spec.describe() + ")");
            return nfc.get(U32, RXNFC_FS + FS_LOCATION);
        }
    }

    /** Deletes the rule in slot {@code location} ({@code ETHTOOL_SRXCLSRLDEL}). */
    public void deleteRule(String ifname, int location) throws SyscallException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment nfc = a.allocate(RXNFC_SIZE, 8);
            nfc.set(U32, RXNFC_FS + FS_LOCATION, location);
            call(ifname, ETHTOOL_SRXCLSRLDEL, nfc, "ETHTOOL_SRXCLSRLDEL " + Integer.toUnsignedString(location));
        }
    }

    /** The RSS indirection table ({@code ETHTOOL_GRXFHINDIR}: once for the size, once for the table). */
    public int[] rxfhIndirection(String ifname) throws SyscallException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment head = a.allocate(8, 8);
            call(ifname, ETHTOOL_GRXFHINDIR, head, "ETHTOOL_GRXFHINDIR");
            int size = head.get(U32, 4);
            if (size == 0) {
                return new int[0];
            }
            MemorySegment table = a.allocate(8 + 4L * size, 8);
            table.set(U32, 4, size);
            call(ifname, ETHTOOL_GRXFHINDIR, table, "ETHTOOL_GRXFHINDIR");
            int[] out = new int[size];
            for (int i = 0; i < size; i++) {
                out[i] = table.get(U32, 8 + 4L * i);
            }
            return out;
        }
    }

    /**
     * Sets the RSS indirection table ({@code ETHTOOL_SRXFHINDIR}); an empty table restores the
     * driver's default spread over every rx ring.
     */
    public void setRxfhIndirection(String ifname, int[] table) throws SyscallException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(8 + 4L * table.length, 8);
            s.set(U32, 4, table.length);
            for (int i = 0; i < table.length; i++) {
                s.set(U32, 8 + 4L * i, table[i]);
            }
            call(ifname, ETHTOOL_SRXFHINDIR, s, table.length == 0 ? "ETHTOOL_SRXFHINDIR (default)" : "ETHTOOL_SRXFHINDIR");
        }
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            Syscalls.closeQuietly(fd);
        }
    }

    // ---- encoding

    static void encodeRule(FlowRuleSpec spec, MemorySegment nfc) {
        int flowType = spec.flowType().value();
        nfc.set(U32, RXNFC_CMD, ETHTOOL_SRXCLSRLINS);
        nfc.set(U32, RXNFC_FLOW_TYPE, flowType);
        long fs = RXNFC_FS;
        nfc.set(U32, fs + FS_FLOW_TYPE, flowType);
        boolean v4 = spec.flowType().ipVersion() == 4;
        int addrLen = v4 ? 4 : 16;
        int srcAt = 0;
        int dstAt = addrLen;
        int sportAt = 2 * addrLen;
        int dportAt = sportAt + 2;
        long h = fs + FS_H_U;
        long m = fs + FS_M_U;
        spec.src().ifPresent(src -> {
            MemorySegment.copy(src.getAddress(), 0, nfc, JAVA_BYTE, h + srcAt, addrLen);
            nfc.asSlice(m + srcAt, addrLen).fill((byte) 0xFF);
        });
        MemorySegment.copy(spec.dst().getAddress(), 0, nfc, JAVA_BYTE, h + dstAt, addrLen);
        nfc.asSlice(m + dstAt, addrLen).fill((byte) 0xFF);
        spec.srcPort().ifPresent(p -> {
            nfc.set(BE16, h + sportAt, (short) p);
            nfc.set(BE16, m + sportAt, (short) 0xFFFF);
        });
        nfc.set(BE16, h + dportAt, (short) spec.dstPort());
        nfc.set(BE16, m + dportAt, (short) 0xFFFF);
        nfc.set(U64, fs + FS_RING_COOKIE, Integer.toUnsignedLong(spec.queue()));
        nfc.set(U32, fs + FS_LOCATION, spec.location());
    }

    static FlowRule decodeRule(String ifname, MemorySegment nfc) {
        long fs = RXNFC_FS;
        int flowTypeWord = nfc.get(U32, fs + FS_FLOW_TYPE);
        Optional<FlowType> type = FlowType.of(flowTypeWord);
        Optional<InetAddress> src = Optional.empty();
        Optional<InetAddress> dst = Optional.empty();
        OptionalInt sport = OptionalInt.empty();
        OptionalInt dport = OptionalInt.empty();
        if (type.isPresent()) {
            int addrLen = type.get().ipVersion() == 4 ? 4 : 16;
            long h = fs + FS_H_U;
            long m = fs + FS_M_U;
            src = address(nfc, h, m, 0, addrLen);
            dst = address(nfc, h, m, addrLen, addrLen);
            sport = port(nfc, h, m, 2 * addrLen);
            dport = port(nfc, h, m, 2 * addrLen + 2);
        }
        long cookie = nfc.get(U64, fs + FS_RING_COOKIE);
        OptionalInt ctx = (flowTypeWord & FlowType.FLOW_RSS) != 0
                ? OptionalInt.of(nfc.get(U32, RXNFC_RULE_CNT)) : OptionalInt.empty();
        return new FlowRule(ifname, nfc.get(U32, fs + FS_LOCATION), flowTypeWord, type, src, dst, sport, dport,
                cookie, ctx);
    }

    private static Optional<InetAddress> address(MemorySegment nfc, long h, long m, int at, int len) {
        byte[] mask = nfc.asSlice(m + at, len).toArray(JAVA_BYTE);
        boolean any = true;
        for (byte b : mask) {
            any &= b == 0;
        }
        if (any) {
            return Optional.empty();
        }
        try {
            return Optional.of(InetAddress.getByAddress(nfc.asSlice(h + at, len).toArray(JAVA_BYTE)));
        } catch (UnknownHostException e) {
            throw new IllegalStateException("a " + len + "-byte address", e);
        }
    }

    private static OptionalInt port(MemorySegment nfc, long h, long m, int at) {
        return nfc.get(BE16, m + at) == 0 ? OptionalInt.empty() : OptionalInt.of(Short.toUnsignedInt(nfc.get(BE16, h + at)));
    }

    private void call(String ifname, int cmd, MemorySegment data, String what) throws SyscallException {
        Objects.requireNonNull(ifname, "ifname");
        byte[] name = ifname.getBytes(StandardCharsets.UTF_8);
        if (name.length == 0 || name.length >= 16) {
            throw new IllegalArgumentException("interface names are 1..15 bytes: \"" + ifname + "\"");
        }
        if (closed) {
            throw new SyscallException("SIOCETHTOOL " + what + " " + ifname, Errno.EBADF, "the ethtool socket is closed");
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ifr = a.allocate(IFREQ);
            MemorySegment.copy(name, 0, ifr, JAVA_BYTE, 0, name.length);
            ifr.set(ADDRESS, IFREQ_DATA, data);
            data.set(U32, 0, cmd);
            int r;
            do {
                r = Syscalls.ioctl(fd, SIOCETHTOOL, ifr);
            } while (r == -Errno.EINTR.number());
            if (r < 0) {
                Errno e = Errno.of(-r);
                throw new SyscallException("SIOCETHTOOL " + what + " " + ifname, e, explain(cmd, ifname, e));
            }
        }
    }

    static String explain(int cmd, String ifname, Errno e) {
        if (e.equals(Errno.ENODEV)) {
            return "there is no interface " + ifname + " in this network namespace";
        }
        if (e.equals(Errno.EPERM)) {
            return "changing " + ifname + " needs CAP_NET_ADMIN in its network namespace";
        }
        if (e.equals(Errno.EOPNOTSUPP)) {
            return switch (cmd) {
                case ETHTOOL_GDRVINFO -> ifname + " reports no driver information (a software device without a driver, like lo)";
                case ETHTOOL_GRXRINGS, ETHTOOL_GRXCLSRLCNT, ETHTOOL_GRXCLSRULE, ETHTOOL_GRXCLSRLALL,
                     ETHTOOL_SRXCLSRLINS, ETHTOOL_SRXCLSRLDEL ->
                        "the driver of " + ifname + " has no flow steering (ntuple filters); lo, veth and many drivers lack it";
                case ETHTOOL_GRXFHINDIR, ETHTOOL_SRXFHINDIR ->
                        "the driver of " + ifname + " has no RSS indirection table";
                default -> null;
            };
        }
        if (e.equals(Errno.EINVAL) && cmd == ETHTOOL_SRXCLSRLINS) {
            return "the driver refused the rule: a field it cannot match, a queue it does not have, or a location it cannot use";
        }
        if (e.equals(Errno.ENOENT) && (cmd == ETHTOOL_GRXCLSRULE || cmd == ETHTOOL_SRXCLSRLDEL)) {
            return "there is no rule in that slot";
        }
        if (e.equals(Errno.ENOSPC) && cmd == ETHTOOL_SRXCLSRLINS) {
            return "the flow-steering table of " + ifname + " is full";
        }
        return null;
    }

    private static String cString(MemorySegment s, long at, int max) {
        byte[] b = s.asSlice(at, max).toArray(JAVA_BYTE);
        int n = 0;
        while (n < b.length && b[n] != 0) {
            n++;
        }
        return new String(Arrays.copyOf(b, n), StandardCharsets.UTF_8);
    }
}
