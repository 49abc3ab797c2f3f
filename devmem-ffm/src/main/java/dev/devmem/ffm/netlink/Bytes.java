package dev.devmem.ffm.netlink;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/** Host-order (netlink is host-endian) integer access to byte arrays. */
final class Bytes {
    private Bytes() {
    }

    private static final VarHandle U16 = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.nativeOrder());
    private static final VarHandle U32 = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.nativeOrder());
    private static final VarHandle U64 = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.nativeOrder());

    static int u16(byte[] b, int off) {
        return Short.toUnsignedInt((short) U16.get(b, off));
    }

    static int i32(byte[] b, int off) {
        return (int) U32.get(b, off);
    }

    static long i64(byte[] b, int off) {
        return (long) U64.get(b, off);
    }

    static void putU16(byte[] b, int off, int v) {
        U16.set(b, off, (short) v);
    }

    static void putI32(byte[] b, int off, int v) {
        U32.set(b, off, v);
    }

    static void putI64(byte[] b, int off, long v) {
        U64.set(b, off, v);
    }
}
