package dev.devmem.api;

/** Where a fragment's bytes are. */
public enum FragKind {
    /** Payload the NIC wrote into the bound dmabuf; the application got (dmabuf id, offset, length, token). */
    DMABUF,
    /**
     * Bytes of a devmem skb's linear part (a {@code SCM_DEVMEM_LINEAR} cmsg), e.g. when header split
     * failed for a packet: they were copied into the host receive buffer.
     */
    LINEAR,
    /** Ordinary data that came back without any devmem cmsg (a flow not steered to a devmem queue). */
    HOST
}
