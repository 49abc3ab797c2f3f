package dev.devmem.ffm.ethtool;

import dev.devmem.api.DevmemProtocolException;
import dev.devmem.ffm.netlink.GenlMessage;
import dev.devmem.ffm.netlink.NlAttributes;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.List;
import java.util.Optional;

import static dev.devmem.ffm.ethtool.EthtoolSpec.ETH_SS_FEATURES;
import static dev.devmem.ffm.ethtool.EthtoolSpec.FEATURES_ACTIVE;
import static dev.devmem.ffm.ethtool.EthtoolSpec.FEATURES_HW;
import static dev.devmem.ffm.ethtool.EthtoolSpec.FEATURES_NOCHANGE;
import static dev.devmem.ffm.ethtool.EthtoolSpec.FEATURES_WANTED;

/**
 * Every decoder of an ethtool reply (netlink) or of the flow-steering ioctl's struct, reachable
 * from the fuzz tests. The string-set decoder is private to {@link Ethtool}; it is reached by a
 * method handle rather than widened for a test.
 */
public final class EthtoolReplyDecoders {
    private static final MethodHandle STRING_SET;

    static {
        try {
            STRING_SET = MethodHandles.privateLookupIn(Ethtool.class, MethodHandles.lookup()).findStatic(Ethtool.class,
                    "parseStringSet", MethodType.methodType(List.class, NlAttributes.class, int.class));
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private EthtoolReplyDecoders() {
    }

    /** Runs every ethtool netlink decoder over {@code m}; returns how many accepted it. */
    public static int decodeAll(GenlMessage m) {
        NlAttributes a = m.attributes();
        int accepted = 0;
        accepted += attempt(() -> EthtoolRings.parse("fuzz0", a));
        accepted += attempt(() -> EthtoolChannels.parse("fuzz0", a));
        for (int type : new int[] {FEATURES_HW, FEATURES_WANTED, FEATURES_ACTIVE, FEATURES_NOCHANGE}) {
            accepted += attempt(() -> {
                Optional<NlAttributes> n = a.nested(type);
                return n.isPresent() ? EthtoolBitset.parse(n.get()) : null;
            });
        }
        accepted += attempt(() -> {
            try {
                return STRING_SET.invoke(a, ETH_SS_FEATURES);
            } catch (DevmemProtocolException | RuntimeException | Error e) {
                throw e;
            } catch (Throwable t) {
                throw new AssertionError(t);
            }
        });
        return accepted;
    }

    /** The flow rule in a {@code struct ethtool_rxnfc} the kernel filled (ETHTOOL_GRXCLSRULE). */
    public static FlowRule decodeRule(MemorySegment rxnfc) {
        return EthtoolIoctl.decodeRule("fuzz0", rxnfc);
    }

    @FunctionalInterface
    private interface Decoder {
        Object decode() throws DevmemProtocolException;
    }

    private static int attempt(Decoder d) {
        try {
            String.valueOf(d.decode());
            return 1;
        } catch (DevmemProtocolException expected) {
            return 0;
        }
    }
}
