package dev.devmem.ffm.bindd;

import dev.devmem.api.DevmemException;

/**
 * What the daemon binds with: the kernel ({@link KernelBinder}) or the control plane of an emulated
 * devmem NIC ({@link EmulatedBinder}). Called on a client connection's thread.
 */
interface Binder {

    /**
     * Performs one bind. {@code passedFd} is the client's dmabuf for {@link Wire#DMABUF_PASSED}
     * (the caller keeps owning it and closes it after {@link Held#close()}), else -1 and the binder
     * allocates one.
     *
     * @throws DevmemException the kernel's (or emulated NIC's) refusal, passed to the client as is
     */
    Held bind(Wire.BindRequest request, int passedFd) throws DevmemException;

    /** A short description for the daemon's first line, e.g. {@code the kernel (netdev bind-rx/bind-tx)}. */
    String describe();

    /** A binding the daemon holds for one client connection. */
    interface Held extends AutoCloseable {
        int id();

        int ifindex();

        String ifname();

        long size();

        /** The dmabuf the binder allocated, to pass back to the client; -1 for a passed one. */
        int allocatedFd();

        /** Unbinds and frees what the binder allocated. Idempotent. */
        @Override
        void close();
    }
}
