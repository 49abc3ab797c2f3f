package dev.devmem.ffm.bindd;

import dev.devmem.api.DevmemException;
import dev.devmem.api.DevmemProtocolException;
import dev.devmem.api.DevmemUnsupportedException;
import dev.devmem.api.Errno;
import dev.devmem.api.NetlinkException;
import dev.devmem.api.SyscallException;
import dev.devmem.ffm.nicsetup.NicSetupException;

import java.util.ArrayList;
import java.util.List;

/**
 * Carries a daemon-side failure to the client as the same typed exception: a {@link NetlinkException}
 * keeps its errno and every part of the kernel's extended ACK, so an application binding through the
 * daemon catches exactly what it would catch binding itself.
 *
 * <pre>
 * ERROR (0x82) u8 kind , i32 errno , string operation , string explanation , string extack ,
 *              string offendingAttribute , string missingAttribute , string policy ,
 *              string feature , string requiredKernel , string message
 * kind: 1 syscall, 2 netlink, 3 unsupported, 4 protocol, 5 other,
 *       6 NIC setup: u8 kind , the cause's fields as above (kind 1..5) , string ifname , string step ,
 *         u16 n , string undone[n] , u16 m , string leftInPlace[m]   (n, m &lt;= {@value #MAX_LIST})
 * </pre>
 */
final class ErrorCodec {
    private ErrorCodec() {
    }

    static final int SYSCALL = 1;
    static final int NETLINK = 2;
    static final int UNSUPPORTED = 3;
    static final int PROTOCOL = 4;
    static final int OTHER = 5;
    static final int NIC_SETUP = 6;
    /** Lines of a NIC setup error's undone and left-in-place lists carried at most. */
    static final int MAX_LIST = 16;

    static byte[] encode(DevmemException e) {
        Wire.Out o = new Wire.Out(Wire.ERROR);
        try {
            fields(o, e);
            return o.frame();
        } catch (IllegalStateException | java.nio.BufferOverflowException tooBig) {
            // more text than a frame holds (long extack, many undo lines): the message, cut, still arrives
            String m = String.valueOf(e.getMessage());
            return encode(new DevmemException(m.length() > 900 ? m.substring(0, 900) + "..." : m));
        }
    }

    private static void fields(Wire.Out o, DevmemException e) {
        switch (e) {
            case NicSetupException x -> {
                o.u8(NIC_SETUP);
                fields(o, x.getCause() instanceof DevmemException d ? d
                        : new DevmemException(String.valueOf(x.getCause())));
                o.string(x.ifname()).string(x.step());
                list(o, x.undone());
                list(o, x.leftInPlace());
            }
            case NetlinkException n -> o.u8(NETLINK).i32(n.errno().number()).string(n.operation())
                    .string(n.explanation()).string(n.extackMessage().orElse(null))
                    .string(n.offendingAttribute().orElse(null)).string(n.missingAttribute().orElse(null))
                    .string(n.policy().orElse(null)).string(null).string(null).string(null);
            case SyscallException s -> o.u8(SYSCALL).i32(s.errno().number()).string(s.operation())
                    .string(s.explanation()).string(null).string(null).string(null).string(null)
                    .string(null).string(null).string(null);
            case DevmemUnsupportedException u -> o.u8(UNSUPPORTED).i32(0).string(null).string(null).string(null)
                    .string(null).string(null).string(null).string(u.feature())
                    .string(u.requiredKernel().orElse(null)).string(u.getMessage());
            case DevmemProtocolException p -> o.u8(PROTOCOL).i32(0).string(null).string(null).string(null)
                    .string(null).string(null).string(null).string(null).string(null).string(p.getMessage());
            default -> o.u8(OTHER).i32(0).string(null).string(null).string(null).string(null).string(null)
                    .string(null).string(null).string(null).string(e.getMessage());
        }
    }

    private static void list(Wire.Out o, List<String> items) {
        int n = Math.min(items.size(), MAX_LIST);
        int cut = Math.max(40, 1200 / Math.max(1, n)); // both lists together stay well inside a frame
        o.u16(n);
        for (int i = 0; i < n; i++) {
            String s = items.get(i);
            o.string(s.length() > cut ? s.substring(0, cut) + "..." : s);
        }
    }

    /** A protocol error the daemon answers to a malformed request. */
    static byte[] protocol(String message) {
        return encode(new DevmemProtocolException(message));
    }

    /** The exception an ERROR body describes. */
    static DevmemException decode(byte[] body) throws WireException {
        if (Wire.type(body) != Wire.ERROR) {
            throw new WireException("not an error reply");
        }
        Wire.In in = new Wire.In(body);
        DevmemException e = decode(in, true);
        in.end();
        return e;
    }

    private static DevmemException decode(Wire.In in, boolean outer) throws WireException {
        int kind = in.u8("kind");
        if (kind == NIC_SETUP) {
            if (!outer) {
                throw new WireException("a NIC setup error inside a NIC setup error");
            }
            DevmemException cause = decode(in, false);
            String ifname = required(in.string("ifname"));
            String step = required(in.string("step"));
            List<String> undone = list(in);
            List<String> left = list(in);
            return NicSetupException.relayed(ifname, step, cause, undone, left);
        }
        int errno = in.i32("errno");
        String operation = in.string("operation");
        String explanation = in.string("explanation");
        String extack = in.string("extack");
        String offending = in.string("offendingAttribute");
        String missing = in.string("missingAttribute");
        String policy = in.string("policy");
        String feature = in.string("feature");
        String requiredKernel = in.string("requiredKernel");
        String message = in.string("message");
        return switch (kind) {
            case NETLINK -> new NetlinkException(required(operation), errno(errno), extack, offending, missing,
                    policy, explanation);
            case SYSCALL -> new SyscallException(required(operation), errno(errno), explanation);
            case UNSUPPORTED -> new DevmemUnsupportedException(feature == null ? "?" : feature, requiredKernel,
                    required(message));
            case PROTOCOL -> new DevmemProtocolException(required(message));
            case OTHER -> new DevmemException(required(message));
            default -> throw new WireException("unknown error kind " + kind);
        };
    }

    private static List<String> list(Wire.In in) throws WireException {
        int n = in.u16("list length");
        if (n > MAX_LIST) {
            throw new WireException("a list of " + n + " lines exceeds " + MAX_LIST);
        }
        List<String> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add(required(in.string("line")));
        }
        return List.copyOf(out);
    }

    private static Errno errno(int n) throws WireException {
        if (n <= 0 || n > 4095) {
            throw new WireException("errno " + n + " is out of range");
        }
        return Errno.of(n);
    }

    private static String required(String s) throws WireException {
        if (s == null) {
            throw new WireException("an error reply lacks its operation or message");
        }
        return s;
    }
}
