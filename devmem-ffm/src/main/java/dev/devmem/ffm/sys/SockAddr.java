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
}
