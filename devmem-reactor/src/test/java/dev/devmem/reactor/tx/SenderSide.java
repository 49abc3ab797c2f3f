package dev.devmem.reactor.tx;

/**
 * What the sender's loop does to a slice's region (take it, finish it after its completion), for the
 * tests of {@code TxBuffer} in the public package, which drive the ring without a socket.
 */
public final class SenderSide {
    private SenderSide() {
    }

    public static boolean take(Region r) {
        return r.take();
    }

    public static void finish(Region r) {
        r.finish();
    }
}
