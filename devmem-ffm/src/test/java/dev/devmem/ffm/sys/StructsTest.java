package dev.devmem.ffm.sys;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The layouts against the C compiler's view of the same structs (glibc headers on this host) and
 * against the sizes the ABI fact sheet recorded from gcc with the 6.19 uapi headers.
 */
class StructsTest {

    @Test
    void devmemStructsMatchTheUapiLayout() {
        // fact sheet §2.2: gcc against 6.19 uapi, x86_64
        assertThat(Structs.DMABUF_CMSG.byteSize()).isEqualTo(24);
        assertThat(Structs.DMABUF_CMSG_FRAG_OFFSET).isZero();
        assertThat(Structs.DMABUF_CMSG_FRAG_SIZE).isEqualTo(8);
        assertThat(Structs.DMABUF_CMSG_FRAG_TOKEN).isEqualTo(12);
        assertThat(Structs.DMABUF_CMSG_DMABUF_ID).isEqualTo(16);
        assertThat(Structs.DMABUF_CMSG_FLAGS).isEqualTo(20);
        assertThat(Structs.DMABUF_TOKEN.byteSize()).isEqualTo(8);
        assertThat(Structs.DMABUF_TOKEN_COUNT).isEqualTo(4);
        assertThat(Structs.DEVMEM_CMSG_SPACE).isEqualTo(40);
        assertThat(Structs.cmsgLen(24)).isEqualTo(40);
        assertThat(Structs.cmsgSpace(24)).isEqualTo(40);
        // TX: the id cmsg is CMSG_LEN(4) = 20 bytes, CMSG_SPACE(4) = 24
        assertThat(Structs.cmsgLen(4)).isEqualTo(20);
        assertThat(Structs.cmsgSpace(4)).isEqualTo(24);
    }

    @Test
    void libcStructsMatchGcc(@TempDir Path dir) throws Exception {
        Map<String, Long> c = compileAndRun(dir, """
                #include <stdio.h>
                #include <stddef.h>
                #include <poll.h>
                #include <sys/socket.h>
                #include <sys/uio.h>
                #include <linux/errqueue.h>
                int main(void) {
                  printf("msghdr %zu\\n", sizeof(struct msghdr));
                  printf("msg_iov %zu\\n", offsetof(struct msghdr, msg_iov));
                  printf("msg_iovlen %zu\\n", offsetof(struct msghdr, msg_iovlen));
                  printf("msg_control %zu\\n", offsetof(struct msghdr, msg_control));
                  printf("msg_controllen %zu\\n", offsetof(struct msghdr, msg_controllen));
                  printf("msg_flags %zu\\n", offsetof(struct msghdr, msg_flags));
                  printf("iovec %zu\\n", sizeof(struct iovec));
                  printf("cmsghdr %zu\\n", sizeof(struct cmsghdr));
                  printf("cmsg_level %zu\\n", offsetof(struct cmsghdr, cmsg_level));
                  printf("cmsg_type %zu\\n", offsetof(struct cmsghdr, cmsg_type));
                  printf("cmsg_len24 %zu\\n", (size_t) CMSG_LEN(24));
                  printf("cmsg_space24 %zu\\n", (size_t) CMSG_SPACE(24));
                  printf("cmsg_len4 %zu\\n", (size_t) CMSG_LEN(4));
                  printf("cmsg_space4 %zu\\n", (size_t) CMSG_SPACE(4));
                  printf("pollfd %zu\\n", sizeof(struct pollfd));
                  printf("revents %zu\\n", offsetof(struct pollfd, revents));
                  printf("sock_extended_err %zu\\n", sizeof(struct sock_extended_err));
                  printf("ee_origin %zu\\n", offsetof(struct sock_extended_err, ee_origin));
                  printf("ee_code %zu\\n", offsetof(struct sock_extended_err, ee_code));
                  printf("ee_info %zu\\n", offsetof(struct sock_extended_err, ee_info));
                  printf("ee_data %zu\\n", offsetof(struct sock_extended_err, ee_data));
                  printf("MSG_ERRQUEUE %d\\n", MSG_ERRQUEUE);
                  printf("MSG_ZEROCOPY %d\\n", MSG_ZEROCOPY);
                  printf("SO_ZEROCOPY %d\\n", SO_ZEROCOPY);
                  return 0;
                }
                """);
        assertThat(Structs.MSGHDR.byteSize()).isEqualTo(c.get("msghdr"));
        assertThat(Structs.MSGHDR_IOV).isEqualTo(c.get("msg_iov"));
        assertThat(Structs.MSGHDR_IOVLEN).isEqualTo(c.get("msg_iovlen"));
        assertThat(Structs.MSGHDR_CONTROL).isEqualTo(c.get("msg_control"));
        assertThat(Structs.MSGHDR_CONTROLLEN).isEqualTo(c.get("msg_controllen"));
        assertThat(Structs.MSGHDR_FLAGS).isEqualTo(c.get("msg_flags"));
        assertThat(Structs.IOVEC.byteSize()).isEqualTo(c.get("iovec"));
        assertThat(Structs.CMSGHDR.byteSize()).isEqualTo(c.get("cmsghdr"));
        assertThat(Structs.CMSG_LEVEL).isEqualTo(c.get("cmsg_level"));
        assertThat(Structs.CMSG_TYPE).isEqualTo(c.get("cmsg_type"));
        assertThat(Structs.cmsgLen(24)).isEqualTo(c.get("cmsg_len24"));
        assertThat(Structs.cmsgSpace(24)).isEqualTo(c.get("cmsg_space24"));
        assertThat(Structs.cmsgLen(4)).isEqualTo(c.get("cmsg_len4"));
        assertThat(Structs.cmsgSpace(4)).isEqualTo(c.get("cmsg_space4"));
        assertThat(Structs.POLLFD.byteSize()).isEqualTo(c.get("pollfd"));
        assertThat(Structs.POLLFD_REVENTS).isEqualTo(c.get("revents"));
        assertThat(Structs.SOCK_EXTENDED_ERR.byteSize()).isEqualTo(c.get("sock_extended_err"));
        assertThat(Structs.EE_ORIGIN).isEqualTo(c.get("ee_origin"));
        assertThat(Structs.EE_CODE).isEqualTo(c.get("ee_code"));
        assertThat(Structs.EE_INFO).isEqualTo(c.get("ee_info"));
        assertThat(Structs.EE_DATA).isEqualTo(c.get("ee_data"));
        assertThat((long) LinuxConstants.MSG_ERRQUEUE).isEqualTo(c.get("MSG_ERRQUEUE"));
        assertThat((long) LinuxConstants.MSG_ZEROCOPY).isEqualTo(c.get("MSG_ZEROCOPY"));
        assertThat((long) LinuxConstants.SO_ZEROCOPY).isEqualTo(c.get("SO_ZEROCOPY"));
    }

    static Map<String, Long> compileAndRun(Path dir, String source) throws IOException, InterruptedException {
        Path gcc = Path.of("/usr/bin/gcc");
        if (!Files.isExecutable(gcc)) {
            System.out.println("SKIP StructsTest: no gcc at /usr/bin/gcc to compare layouts with");
            Assumptions.abort("no gcc to compare struct layouts with");
        }
        Path src = dir.resolve("layout.c");
        Path bin = dir.resolve("layout");
        Files.writeString(src, source);
        Process cc = new ProcessBuilder(gcc.toString(), "-o", bin.toString(), src.toString())
                .redirectErrorStream(true).start();
        String ccOut = new String(cc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(cc.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(cc.exitValue()).as("gcc: %s", ccOut).isZero();
        Process run = new ProcessBuilder(bin.toString()).redirectErrorStream(true).start();
        String out = new String(run.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(run.waitFor(30, TimeUnit.SECONDS)).isTrue();
        Map<String, Long> values = new HashMap<>();
        out.lines().map(l -> l.split(" ")).forEach(p -> values.put(p[0], Long.parseLong(p[1])));
        return values;
    }
}
