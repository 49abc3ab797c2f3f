package dev.devmem.ffm;

import dev.devmem.ffm.sys.Structs;

/**
 * How much native memory one receiving socket sets aside. Immutable: every {@code with...} returns a
 * validated copy, and {@link #defaults()} is the one place defaults live.
 *
 * <p>Why these knobs and no others: they size memory, nothing more. How many fragments the kernel
 * may hand out per call is still capped by the consumer's {@link dev.devmem.api.spi.ReceiveBatch#limit()}
 * (one 40-byte cmsg of control space per fragment allowed), and token returns always obey the
 * kernel's per-call limits; no option here can widen either.
 *
 * @param hostSlabCount how many host receive slabs (LINEAR/HOST bytes land there); at least 1
 * @param hostSlabSize  bytes per slab; the iov of one recvmsg is at most this, and the iov length
 *                      also caps the DMABUF bytes one call returns. 4 KiB to 1 GiB
 * @param maxBatch      most fragments one recvmsg may return (control buffer = 40 bytes each);
 *                      1 to 65536
 * @param maxHostFrags  most LINEAR/HOST fragments outstanding at once; receiving pauses at this
 *                      many until one is released. 1 to 2^20
 */
public record RxSocketOptions(int hostSlabCount, int hostSlabSize, int maxBatch, int maxHostFrags) {
    private static final RxSocketOptions DEFAULTS = new RxSocketOptions(4, 1024 * 1024, 1024, 16 * 1024);

    public static final int MIN_SLAB_SIZE = 4096;
    public static final int MAX_SLAB_SIZE = 1 << 30;
    public static final int MAX_BATCH = 65536;
    /** The host slab pool's key space: 20 slot bits (the pool checks the same bound). */
    public static final int MAX_HOST_FRAGS = 1 << 20;

    public RxSocketOptions {
        if (hostSlabCount < 1 || hostSlabCount > 4096) {
            throw new IllegalArgumentException("hostSlabCount must be in [1, 4096], was " + hostSlabCount);
        }
        if (hostSlabSize < MIN_SLAB_SIZE || hostSlabSize > MAX_SLAB_SIZE) {
            throw new IllegalArgumentException("hostSlabSize must be in [" + MIN_SLAB_SIZE + ", " + MAX_SLAB_SIZE
                    + "], was " + hostSlabSize);
        }
        if ((long) hostSlabCount * hostSlabSize > (1L << 34)) {
            throw new IllegalArgumentException("hostSlabCount * hostSlabSize must be at most 16 GiB, was "
                    + (long) hostSlabCount * hostSlabSize);
        }
        if (maxBatch < 1 || maxBatch > MAX_BATCH) {
            throw new IllegalArgumentException("maxBatch must be in [1, " + MAX_BATCH + "], was " + maxBatch);
        }
        if (maxHostFrags < 1 || maxHostFrags > MAX_HOST_FRAGS) {
            throw new IllegalArgumentException("maxHostFrags must be in [1, " + MAX_HOST_FRAGS
                    + "], was " + maxHostFrags);
        }
    }

    /** 4 slabs of 1 MiB, batches of up to 1024 fragments, up to 16384 host fragments outstanding. */
    public static RxSocketOptions defaults() {
        return DEFAULTS;
    }

    public RxSocketOptions withHostSlabs(int count, int size) {
        return new RxSocketOptions(count, size, maxBatch, maxHostFrags);
    }

    public RxSocketOptions withMaxBatch(int maxBatch) {
        return new RxSocketOptions(hostSlabCount, hostSlabSize, maxBatch, maxHostFrags);
    }

    public RxSocketOptions withMaxHostFrags(int maxHostFrags) {
        return new RxSocketOptions(hostSlabCount, hostSlabSize, maxBatch, maxHostFrags);
    }

    /** Control buffer bytes a socket with these options allocates. */
    public long controlBufferBytes() {
        return (long) maxBatch * Structs.DEVMEM_CMSG_SPACE;
    }
}
