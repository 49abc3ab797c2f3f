package dev.devmem.reactor.rx;

import dev.devmem.api.DevmemException;

/** Something in a connection's release queue: a frag, or a batch with newly released frags. */
interface Releasable {

    /** On the loop thread: hands what was released back to the connection's socket. */
    void handBack(ReleaseTarget c) throws DevmemException;
}
