package dev.devmem.ffm.ethtool;

/**
 * {@code struct ethtool_drvinfo} from {@code ETHTOOL_GDRVINFO} ({@code ethtool -i}).
 *
 * @param driver   the driver's name, e.g. {@code veth}, {@code bnxt_en}, {@code mlx5_core}
 * @param busInfo  the device's bus address, e.g. {@code 0000:3b:00.0}; empty for virtual devices
 */
public record DriverInfo(String ifname, String driver, String version, String firmwareVersion,
                         String expansionRomVersion, String busInfo, int privFlags, int stats, int testInfoLength,
                         int eepromDumpLength, int registerDumpLength) {
}
