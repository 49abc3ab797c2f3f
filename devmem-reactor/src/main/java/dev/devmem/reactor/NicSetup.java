package dev.devmem.reactor;

import dev.devmem.api.DevmemException;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.Objects;

/**
 * Optional NIC-side preparation a receiver applies before it binds: header split on, hds-thresh 0,
 * an RSS context, a flow rule steering the flow to the bound rx queues. Applied first when a
 * {@link DevmemReceiver} subscription starts and undone last when it ends (after the socket and the
 * binding are closed). The default, {@link #none()}, does nothing: the NIC is assumed ready, e.g.
 * prepared by an orchestrator that holds CAP_NET_ADMIN.
 *
 * <p>Implementations are called on a dedicated setup thread, never on a Reactor scheduler or an I/O
 * loop thread, so they may block (netlink, ioctl).
 */
@FunctionalInterface
public interface NicSetup {

    /**
     * Prepares the NIC for {@code target} and returns how to undo exactly that. If it throws, nothing
     * must be left applied (roll back partial work before throwing).
     */
    Undo apply(Target target) throws DevmemException;

    /** Reverts one successful {@link #apply}. Called at most once. */
    @FunctionalInterface
    interface Undo {
        void undo() throws DevmemException;
    }

    /**
     * What the receiver is about to bind and receive.
     *
     * @param interfaceName the netdev, or {@code null} when the receiver does not bind
     * @param rxQueues      the rx queues the binding will cover (empty when it does not bind)
     * @param local         the listen address (server side), or {@code null} (client side)
     * @param remote        the address connected to (client side), or {@code null} (server side)
     */
    record Target(String interfaceName, List<Integer> rxQueues, InetSocketAddress local, InetSocketAddress remote) {
        public Target {
            rxQueues = List.copyOf(Objects.requireNonNull(rxQueues, "rxQueues"));
        }
    }

    /** Does nothing; its undo does nothing. */
    static NicSetup none() {
        return NoNicSetup.INSTANCE;
    }

    /**
     * Prepares a real NIC through the kernel's own interfaces (ethtool netlink and the flow-steering
     * ioctl, no shelling out), as {@code dev.devmem.ffm.nicsetup.DevmemNicSetup} does: TCP header
     * split on with hds-thresh 0, ntuple on, RSS spread over the queues below the first devmem queue,
     * and a flow rule steering the listen address's flows to the first bound queue. Settings that were
     * already right are left alone and only what it changed is restored. Needs CAP_NET_ADMIN; see
     * docs/nic-setup.md. Server side only: a flow rule needs the concrete local address and port, so a
     * wildcard or client-side target fails with a clear error before anything is changed.
     */
    static NicSetup kernel() {
        return KernelNicSetup.INSTANCE;
    }

    /**
     * {@link #kernel()} with the same target checks, applied by {@code provider} instead of the
     * backend module's own, e.g. devmem-ffm's {@code DevmemBackends.nicSetupViaBinder(socket)}: the
     * privileged daemon {@code devmem bindd} prepares the NIC and restores it, and this process needs
     * no capability (docs/security.md).
     */
    static NicSetup kernel(dev.devmem.api.spi.KernelNicSetup provider) {
        return new KernelNicSetup(java.util.Objects.requireNonNull(provider, "provider"));
    }
}

enum NoNicSetup implements NicSetup, NicSetup.Undo {
    INSTANCE;

    @Override
    public Undo apply(Target target) {
        return this;
    }

    @Override
    public void undo() {
    }

    @Override
    public String toString() {
        return "NicSetup.none()";
    }
}
