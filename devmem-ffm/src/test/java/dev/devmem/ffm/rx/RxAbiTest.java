package dev.devmem.ffm.rx;

import dev.devmem.ffm.sys.LinuxConstants;
import dev.devmem.ffm.sys.Structs;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The kernel ABI facts the receive engine is built on, checked against the fact sheet (§2.1, §2.2,
 * §2.5, §9: gcc sizes on x86_64), so a wrong constant fails here and not as a misread token.
 */
class RxAbiTest {

    @Test
    void devmemSocketConstantsAreMainlineGenericOnes() {
        assertThat(LinuxConstants.SOL_SOCKET).isEqualTo(1);
        assertThat(LinuxConstants.SCM_DEVMEM_LINEAR).isEqualTo(78);
        assertThat(LinuxConstants.SCM_DEVMEM_DMABUF).isEqualTo(79);
        assertThat(LinuxConstants.SO_DEVMEM_DONTNEED).isEqualTo(80);
        assertThat(LinuxConstants.MSG_SOCK_DEVMEM).isEqualTo(0x2000000);
        assertThat(LinuxConstants.MSG_CTRUNC).isEqualTo(8);
        assertThat(LinuxConstants.MSG_DONTWAIT).isEqualTo(0x40);
        assertThat(LinuxConstants.DONTNEED_MAX_RANGES).isEqualTo(128);
        assertThat(LinuxConstants.DONTNEED_MAX_FRAGS).isEqualTo(1024);
    }

    @Test
    void structLayoutsMatchGcc() {
        assertThat(Structs.MSGHDR.byteSize()).isEqualTo(56);
        assertThat(new long[] {Structs.MSGHDR_IOV, Structs.MSGHDR_IOVLEN, Structs.MSGHDR_CONTROL,
                Structs.MSGHDR_CONTROLLEN, Structs.MSGHDR_FLAGS}).containsExactly(16, 24, 32, 40, 48);
        assertThat(Structs.IOVEC.byteSize()).isEqualTo(16);
        assertThat(Structs.CMSGHDR.byteSize()).isEqualTo(16);
        assertThat(new long[] {Structs.CMSG_LEN, Structs.CMSG_LEVEL, Structs.CMSG_TYPE}).containsExactly(0, 8, 12);
        assertThat(Structs.DMABUF_CMSG.byteSize()).isEqualTo(24);
        assertThat(new long[] {Structs.DMABUF_CMSG_FRAG_OFFSET, Structs.DMABUF_CMSG_FRAG_SIZE,
                Structs.DMABUF_CMSG_FRAG_TOKEN, Structs.DMABUF_CMSG_DMABUF_ID, Structs.DMABUF_CMSG_FLAGS})
                .containsExactly(0, 8, 12, 16, 20);
        assertThat(Structs.DEVMEM_CMSG_SPACE).isEqualTo(40);
        assertThat(Structs.cmsgLen(24)).isEqualTo(40);
        assertThat(Structs.cmsgSpace(24)).isEqualTo(40);
        assertThat(Structs.cmsgSpace(4)).isEqualTo(24);
        assertThat(Structs.DMABUF_TOKEN.byteSize()).isEqualTo(8);
        assertThat(Structs.POLLFD.byteSize()).isEqualTo(8);
        assertThat(DontneedBatcher.RANGE_BUFFER_BYTES).isEqualTo(1024);
    }
}
