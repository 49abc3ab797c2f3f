package dev.devmem.reactor.rx;

import dev.devmem.api.DevmemException;
import dev.devmem.api.FragKind;

/**
 * Where a delivered frag or batch goes back when it is released: its connection, seen only through
 * what releasing needs, so that frags know nothing else of it.
 */
interface ReleaseTarget {

    /** Whether the calling thread is the connection's loop (a release there hands back at once). */
    boolean inLoop();

    /** Any thread: {@code r} holds {@code frags} newly released frags. Never drops. */
    void released(Releasable r, int frags);

    /** Any thread: {@code frags} more releases of a batch already queued. */
    void countStallRelease(int frags);

    /** Loop thread: returns one frag to the socket now (the failure is kept for the subscriber). */
    void handBackOnLoop(FragKind kind, int key);

    /** Loop thread: returns one frag to the socket. */
    void handBack(FragKind kind, int key) throws DevmemException;

    /** Loop thread: a batch's arrays, every frag of it handed back, for the next batch. */
    void recycle(FragBatch.Arrays_ arrays);
}
