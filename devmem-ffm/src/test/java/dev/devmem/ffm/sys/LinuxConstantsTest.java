package dev.devmem.ffm.sys;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The devmem constants against the ABI fact sheet (§2.1, §2.5, §4). Pre-upstream builds used
 * other numbers (TCPX: 97/99); a wrong one here silently turns every devmem call into a no-op or
 * an ENOPROTOOPT, so each is pinned.
 */
class LinuxConstantsTest {

    @Test
    void socketLevelDevmemIdsAreMainline() {
        assertThat(LinuxConstants.SOL_SOCKET).isEqualTo(1);
        assertThat(LinuxConstants.SO_DEVMEM_LINEAR).isEqualTo(78);
        assertThat(LinuxConstants.SO_DEVMEM_DMABUF).isEqualTo(79);
        assertThat(LinuxConstants.SO_DEVMEM_DONTNEED).isEqualTo(80);
        assertThat(LinuxConstants.SCM_DEVMEM_LINEAR).isEqualTo(78);
        assertThat(LinuxConstants.SCM_DEVMEM_DMABUF).isEqualTo(79);
        assertThat(LinuxConstants.SO_ZEROCOPY).isEqualTo(60);
    }

    @Test
    void messageFlags() {
        assertThat(LinuxConstants.MSG_SOCK_DEVMEM).isEqualTo(0x2000000);
        assertThat(LinuxConstants.MSG_ZEROCOPY).isEqualTo(0x4000000);
        assertThat(LinuxConstants.MSG_ERRQUEUE).isEqualTo(0x2000);
        assertThat(LinuxConstants.MSG_CTRUNC).isEqualTo(8);
        assertThat(LinuxConstants.MSG_DONTWAIT).isEqualTo(0x40);
    }

    @Test
    void dontneedLimits() {
        assertThat(LinuxConstants.DONTNEED_MAX_RANGES).isEqualTo(128);
        assertThat(LinuxConstants.DONTNEED_MAX_RANGES * Structs.DMABUF_TOKEN.byteSize()).isEqualTo(1024);
        assertThat(LinuxConstants.DONTNEED_MAX_FRAGS).isEqualTo(1024);
    }

    @Test
    void netlinkAndIoctls() {
        assertThat(LinuxConstants.NETLINK_GENERIC).isEqualTo(16);
        assertThat(LinuxConstants.SOL_NETLINK).isEqualTo(270);
        assertThat(LinuxConstants.NETLINK_CAP_ACK).isEqualTo(10);
        assertThat(LinuxConstants.NETLINK_EXT_ACK).isEqualTo(11);
        assertThat(LinuxConstants.SIOCETHTOOL).isEqualTo(0x8946);
        assertThat(LinuxConstants.UDMABUF_CREATE).isEqualTo(0x40187542L);
        assertThat(LinuxConstants.DMA_HEAP_IOCTL_ALLOC).isEqualTo(0xC0184800L);
        assertThat(LinuxConstants.DMA_BUF_IOCTL_SYNC).isEqualTo(0x40086200L);
    }
}
