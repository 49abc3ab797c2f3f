package dev.devmem.ffm;

import dev.devmem.api.DevmemException;
import dev.devmem.api.spi.DevmemBackend;
import dev.devmem.api.spi.KernelNicSetup;
import dev.devmem.ffm.bindd.BinderBackend;
import dev.devmem.ffm.bindd.BinderNicSetup;
import dev.devmem.ffm.emulated.EmulatedBackend;
import dev.devmem.ffm.emulated.EmulatedNicConfig;
import dev.devmem.ffm.linux.LinuxBackend;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * Where a user picks a backend: the real kernel, or the emulated devmem NIC (hardware-free, for
 * tests and demos; see docs/emulated-nic.md). Both implement the same SPI, so code above them
 * does not change. This class, {@link RxSocketOptions}, {@link DevmemDiagnostics} and the emulated
 * NIC's package are the module's public face; everything else is internal.
 */
public final class DevmemBackends {
    /** How long {@code connect} waits on the Linux backend unless told otherwise. */
    public static final Duration DEFAULT_CONNECT_TIMEOUT = LinuxBackend.DEFAULT_CONNECT_TIMEOUT;

    private DevmemBackends() {
    }

    /**
     * The running Linux kernel, with {@link RxSocketOptions#defaults()}. Check
     * {@link DevmemBackend#availability()} before relying on devmem.
     */
    public static DevmemBackend linux() {
        return new LinuxBackend();
    }

    /** The running Linux kernel, with receive memory sized by {@code options}. */
    public static DevmemBackend linux(RxSocketOptions options, Duration connectTimeout) {
        return new LinuxBackend(Objects.requireNonNull(options, "options"),
                Objects.requireNonNull(connectTimeout, "connectTimeout"));
    }

    /** A new emulated devmem NIC with default settings ({@link EmulatedNicConfig#defaults()}). Close it when done. */
    public static EmulatedBackend emulated() throws DevmemException {
        return EmulatedBackend.create(EmulatedNicConfig.defaults());
    }

    /** A new emulated devmem NIC configured by {@code config}. Close it when done. */
    public static EmulatedBackend emulated(EmulatedNicConfig config) throws DevmemException {
        return EmulatedBackend.create(config);
    }

    /** A new emulated devmem NIC configured by {@code config}, its sockets' memory sized by {@code options}. */
    public static EmulatedBackend emulated(EmulatedNicConfig config, RxSocketOptions options) throws DevmemException {
        return EmulatedBackend.create(config, options);
    }

    /**
     * The running kernel, binding through the privileged daemon {@code devmem bindd} listening on
     * {@code socket}: this process needs no capability (docs/security.md).
     */
    public static BinderBackend linuxViaBinder(Path socket) {
        return BinderBackend.over(socket, new LinuxBackend());
    }

    /**
     * A new emulated devmem NIC configured by {@code config}, binding through a {@code devmem bindd
     * --emulated} daemon on {@code socket} (same configuration), so an application exercises the
     * privilege split without hardware. Close it when done.
     */
    public static BinderBackend emulatedViaBinder(Path socket, EmulatedNicConfig config) throws DevmemException {
        return BinderBackend.over(socket, EmulatedBackend.create(config));
    }

    /**
     * NIC setup through {@code devmem bindd} on {@code socket}: the daemon prepares the NIC with its
     * CAP_NET_ADMIN (header split, hds-thresh 0, ntuple, RSS off the devmem queues, a flow rule) and
     * restores it when the returned setup is closed or this process's connection ends. Hand it to
     * {@code NicSetup.kernel(KernelNicSetup)} in devmem-reactor. A daemon over the emulated NIC
     * checks the interface and queues and changes nothing.
     */
    public static KernelNicSetup nicSetupViaBinder(Path socket) {
        return BinderNicSetup.at(socket);
    }
}
