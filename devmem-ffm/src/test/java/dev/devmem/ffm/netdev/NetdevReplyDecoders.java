package dev.devmem.ffm.netdev;

import dev.devmem.api.DevmemProtocolException;
import dev.devmem.ffm.netlink.GenlMessage;

import static dev.devmem.ffm.netdev.NetdevSpec.DMABUF_ID;

/**
 * Every decoder of a netdev reply or notification, reachable from the fuzz tests (they are
 * package-private here). Each is applied to the same message, as a kernel bug or a newer kernel
 * could send any attribute set under any command.
 */
public final class NetdevReplyDecoders {
    private NetdevReplyDecoders() {
    }

    /** Runs every netdev decoder over {@code m}; returns how many accepted it. */
    public static int decodeAll(GenlMessage m) {
        int accepted = 0;
        accepted += attempt(() -> NetdevDevice.parse(m.attributes()));
        accepted += attempt(() -> NetdevQueue.parse(m.attributes()));
        accepted += attempt(() -> NetdevPagePool.parse(m.attributes()));
        accepted += attempt(() -> NetdevNapi.parse(m.attributes()));
        accepted += attempt(() -> NetdevQstats.parse(m.attributes()));
        accepted += attempt(() -> NetdevNotification.parse(m));
        accepted += attempt(() -> m.attributes().requireU32(DMABUF_ID)); // bind-rx / bind-tx reply
        return accepted;
    }

    @FunctionalInterface
    private interface Decoder {
        Object decode() throws DevmemProtocolException;
    }

    private static int attempt(Decoder d) {
        try {
            String.valueOf(d.decode()); // toString walks every field of the record
            return 1;
        } catch (DevmemProtocolException expected) {
            return 0;
        }
    }
}
