package dev.devmem.ffm.emulated;

/**
 * What an emulated RX and TX binding share: the NIC, the id from the kernel-wide allocator, and the
 * dmabuf memory ({@link EmulatedDmabuf}) the binding releases once.
 */
abstract class EmulatedBinding {
    final EmulatedNic nic;
    final int id;
    final EmulatedDmabuf dmabuf;
    /** Not yet unbound. Guarded by this (the subclasses' lock). */
    boolean open = true;

    EmulatedBinding(EmulatedNic nic, int id, EmulatedDmabuf dmabuf) {
        this.nic = nic;
        this.id = id;
        this.dmabuf = dmabuf;
    }

    public synchronized boolean isOpen() {
        return open;
    }

    /** Marks the binding unbound; false when it already was (close is idempotent). */
    final synchronized boolean unbind() {
        if (!open) {
            return false;
        }
        open = false;
        return true;
    }

    public int id() {
        return id;
    }

    public String interfaceName() {
        return nic.config().interfaceName();
    }

    public int ifindex() {
        return nic.ifindex();
    }

    /** The dmabuf size (a TX dmabuf made here is rounded up to a page, as a dma-heap allocation is). */
    public long dmabufSize() {
        return dmabuf.size;
    }

    /** The memfd behind the dmabuf (what udmabuf would wrap); closed once the memory is released, if the binding made it. */
    public int memfd() {
        return dmabuf.fd;
    }
}
