package dev.devmem.ffm.bindd;

import dev.devmem.ffm.sys.LinuxConstants;
import dev.devmem.ffm.sys.Structs;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The AF_UNIX constants and layouts bindd added to {@code LinuxConstants} and {@code Structs},
 * pinned to what gcc reports on x86_64 glibc ({@code sizeof(struct ucred)} 12,
 * {@code sizeof(struct sockaddr_un)} 110 with {@code sun_path} at 2; SO_PEERCRED 17, SCM_RIGHTS 1,
 * SO_PEERGROUPS 59, SO_RCVTIMEO 20, SOCK_SEQPACKET 5).
 */
class AfUnixAbiTest {

    @Test
    void constantsAreTheGenericLinuxOnes() {
        assertThat(LinuxConstants.SO_PEERCRED).isEqualTo(17);
        assertThat(LinuxConstants.SCM_RIGHTS).isEqualTo(1);
        assertThat(LinuxConstants.SO_PEERGROUPS).isEqualTo(59);
        assertThat(LinuxConstants.SO_RCVTIMEO).isEqualTo(20);
        assertThat(LinuxConstants.SOCK_SEQPACKET).isEqualTo(5);
        assertThat(LinuxConstants.UNIX_PATH_MAX).isEqualTo(108);
    }

    @Test
    void layoutsMatchGcc() {
        assertThat(Structs.UCRED.byteSize()).isEqualTo(12);
        assertThat(Structs.UCRED_UID).isEqualTo(4);
        assertThat(Structs.UCRED_GID).isEqualTo(8);
        assertThat(Structs.SOCKADDR_UN.byteSize()).isEqualTo(110);
        assertThat(Structs.SOCKADDR_UN_PATH).isEqualTo(2);
    }
}
