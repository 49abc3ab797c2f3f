package dev.devmem.ffm;

import dev.devmem.api.DevmemException;
import dev.devmem.ffm.emulated.EmulatedBackend;
import dev.devmem.ffm.emulated.EmulatedNicConfig;
import dev.devmem.ffm.linux.LinuxBackend;

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
}
