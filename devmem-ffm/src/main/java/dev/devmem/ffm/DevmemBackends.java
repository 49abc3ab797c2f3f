package dev.devmem.ffm;

import dev.devmem.api.DevmemException;
import dev.devmem.ffm.bindd.BinderBackend;
import dev.devmem.ffm.emulated.EmulatedBackend;
import dev.devmem.ffm.emulated.EmulatedNicConfig;
import dev.devmem.ffm.linux.LinuxBackend;

import java.nio.file.Path;

/**
 * Where a user picks a backend: the real kernel, or the emulated devmem NIC (hardware-free, for
 * tests and demos; see docs/emulated-nic.md). Both implement the same SPI, so code above them
 * does not change.
 */
public final class DevmemBackends {
    private DevmemBackends() {
    }

    /** The running Linux kernel. Check {@link LinuxBackend#availability()} before relying on devmem. */
    public static LinuxBackend linux() {
        return new LinuxBackend();
    }

    /** A new emulated devmem NIC with default settings ({@link EmulatedNicConfig#defaults()}). Close it when done. */
    public static EmulatedBackend emulated() throws DevmemException {
        return EmulatedBackend.create(EmulatedNicConfig.defaults());
    }

    /** A new emulated devmem NIC configured by {@code config}. Close it when done. */
    public static EmulatedBackend emulated(EmulatedNicConfig config) throws DevmemException {
        return EmulatedBackend.create(config);
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
}
