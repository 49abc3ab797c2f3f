package dev.devmem.ffm.sys;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteOrder;

/** Encodes and decodes {@code sockaddr_in} / {@code sockaddr_in6}. Ports and addresses are in network order. */
public final class SockAddr {
    private SockAddr() {
    }

    private static final ValueLayout.OfShort PORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    /** Writes {@code address} into {@code out} (at least {@link Structs#SOCKADDR_STORAGE_SIZE}); returns its length. */
    public static int write(MemorySegment out, InetSocketAddress address) {
        InetAddress ip = address.getAddress();
        if (ip == null) {
            throw new IllegalArgumentException("unresolved address " + address);
        }
        out.asSlice(0, Structs.SOCKADDR_IN6_SIZE).fill((byte) 0);
        if (ip instanceof Inet4Address) {
            out.set(ValueLayout.JAVA_SHORT, 0, (short) LinuxConstants.AF_INET);
            out.set(PORT, 2, (short) address.getPort());
            MemorySegment.copy(ip.getAddress(), 0, out, ValueLayout.JAVA_BYTE, 4, 4);
            return Structs.SOCKADDR_IN_SIZE;
        }
        Inet6Address ip6 = (Inet6Address) ip;
        out.set(ValueLayout.JAVA_SHORT, 0, (short) LinuxConstants.AF_INET6);
        out.set(PORT, 2, (short) address.getPort());
        MemorySegment.copy(ip6.getAddress(), 0, out, ValueLayout.JAVA_BYTE, 8, 16);
        out.set(ValueLayout.JAVA_INT, 24, ip6.getScopeId());
        return Structs.SOCKADDR_IN6_SIZE;
    }

    /** Reads a sockaddr the kernel wrote. */
    public static InetSocketAddress read(MemorySegment in) {
        int family = in.get(ValueLayout.JAVA_SHORT, 0);
        int port = Short.toUnsignedInt(in.get(PORT, 2));
        try {
            if (family == LinuxConstants.AF_INET) {
                byte[] a = new byte[4];
                MemorySegment.copy(in, ValueLayout.JAVA_BYTE, 4, a, 0, 4);
                return new InetSocketAddress(InetAddress.getByAddress(a), port);
            }
            if (family == LinuxConstants.AF_INET6) {
                byte[] a = new byte[16];
                MemorySegment.copy(in, ValueLayout.JAVA_BYTE, 8, a, 0, 16);
                int scope = in.get(ValueLayout.JAVA_INT, 24);
                InetAddress ip = scope == 0 ? InetAddress.getByAddress(a) : Inet6Address.getByAddress(null, a, scope);
                return new InetSocketAddress(ip, port);
            }
        } catch (UnknownHostException e) {
            throw new IllegalStateException("kernel wrote a malformed address", e);
        }
        throw new IllegalArgumentException("not an inet sockaddr, family " + family);
    }

    public static int family(InetSocketAddress address) {
        return address.getAddress() instanceof Inet4Address ? LinuxConstants.AF_INET : LinuxConstants.AF_INET6;
    }

    /** {@code 127.0.0.1:8080} or {@code [::1]:8080}, for messages. */
    public static String describe(InetSocketAddress address) {
        if (address == null) {
            return "?";
        }
        if (address.getAddress() == null) {
            return address.getHostString() + ":" + address.getPort();
        }
        if (address.getAddress() instanceof Inet6Address v6) {
            String scope = v6.getScopeId() != 0 ? "%" + v6.getScopeId() : "";
            return "[" + compress(v6.getAddress()) + scope + "]:" + address.getPort();
        }
        return address.getAddress().getHostAddress() + ":" + address.getPort();
    }

    /** RFC 5952 text: lower-case hex groups, the longest run of two or more zero groups as {@code ::}. */
    private static String compress(byte[] v6) {
        int[] g = new int[8];
        for (int i = 0; i < 8; i++) {
            g[i] = (v6[2 * i] & 0xFF) << 8 | (v6[2 * i + 1] & 0xFF);
        }
        int bestStart = -1;
        int bestLen = 1;
        for (int i = 0; i < 8; ) {
            if (g[i] != 0) {
                i++;
                continue;
            }
            int j = i;
            while (j < 8 && g[j] == 0) {
                j++;
            }
            if (j - i > bestLen) {
                bestStart = i;
                bestLen = j - i;
            }
            i = j;
        }
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            if (i == bestStart) {
                sb.append("::");
                i += bestLen - 1;
                continue;
            }
            if (sb.length() > 0 && sb.charAt(sb.length() - 1) != ':') {
                sb.append(':');
            }
            sb.append(Integer.toHexString(g[i]));
        }
        return sb.toString();
    }
}
