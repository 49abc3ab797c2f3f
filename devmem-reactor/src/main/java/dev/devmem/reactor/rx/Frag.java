package dev.devmem.reactor.rx;

import dev.devmem.api.DevmemException;
import dev.devmem.api.DevmemFrag;
import dev.devmem.api.FragKind;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * One frag of a connection.
 *
 * <p>Exactly-once release without a CAS in the common case. Only the connection's loop thread ever
 * hands a frag back to the socket, so a loop-only flag ({@link #handed}) is what makes the hand-back
 * happen once. {@link #released} is what other threads see: a release on the loop thread (a consumer
 * in {@code onNext}, the usual case) sets it with a plain ordered store and hands the frag back at
 * once; a release elsewhere wins it with a CAS, so that each frag enters the connection's release
 * queue at most once (the queue is sized for that), and the loop hands it back when it drains the
 * queue, unless the loop thread released it meanwhile.
 */
final class Frag implements DevmemFrag, Releasable {
    private static final FragKind[] KINDS = FragKind.values();
    private static final VarHandle RELEASED;

    static {
        try {
            RELEASED = MethodHandles.lookup().findVarHandle(Frag.class, "released", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final ReleaseTarget connection;
    private final MemorySegment memory;
    private final long offset;
    private final long streamPosition;
    private final int length;
    private final int dmabufId;
    private final int key;
    private final byte kind;
    private volatile int released;
    /** Handed back to the socket (loop thread only). */
    private boolean handed;

    Frag(ReleaseTarget connection, byte kind, int dmabufId, long offset, int length, long streamPosition, int key,
         MemorySegment memory) {
        this.connection = connection;
        this.kind = kind;
        this.dmabufId = dmabufId;
        this.offset = offset;
        this.length = length;
        this.streamPosition = streamPosition;
        this.key = key;
        this.memory = memory;
    }

    @Override
    public FragKind kind() {
        return KINDS[kind];
    }

    @Override
    public int dmabufId() {
        return dmabufId;
    }

    @Override
    public long offset() {
        return offset;
    }

    @Override
    public int length() {
        return length;
    }

    @Override
    public long streamPosition() {
        return streamPosition;
    }

    @Override
    public void release() {
        if (released != 0) {
            return;
        }
        if (connection.inLoop()) {
            RELEASED.setRelease(this, 1);
            connection.released(this, 1); // hands it back now, once: see handBack
        } else if (RELEASED.compareAndSet(this, 0, 1)) {
            connection.released(this, 1);
        }
    }

    @Override
    public boolean isReleased() {
        return released != 0;
    }

    @Override
    public boolean isHostReadable() {
        return memory != null;
    }

    @Override
    public MemorySegment segment() {
        if (memory == null) {
            throw new UnsupportedOperationException("frag is in device memory that is not host-mappable: " + this);
        }
        return memory.asSlice(offset, length).asReadOnly();
    }

    @Override
    public void handBack(ReleaseTarget c) throws DevmemException {
        if (!handed) {
            handed = true;
            c.handBack(KINDS[kind], key);
        }
    }

    @Override
    public String toString() {
        return "DevmemFrag{" + KINDS[kind] + ", dmabuf " + dmabufId + ", offset " + offset + ", length " + length
                + ", stream " + streamPosition + (released != 0 ? ", released" : "") + '}';
    }
}
