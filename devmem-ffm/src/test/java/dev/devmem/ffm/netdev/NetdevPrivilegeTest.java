package dev.devmem.ffm.netdev;

import dev.devmem.ffm.testing.TestNetns;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * bind-rx and bind-tx from a process without CAP_NET_ADMIN: {@code setpriv} drops the capability
 * from the bounding and inheritable sets before it starts a JVM running {@link BindProbe}, inside
 * the test namespace (so even a wrong answer could not bind anything outside it).
 */
class NetdevPrivilegeTest {
    private static final long CAP_NET_ADMIN_BIT = 1L << 12;
    private static TestNetns ns;

    @BeforeAll
    static void namespace() {
        ns = TestNetns.create();
        if (!Files.isExecutable(Path.of("/usr/bin/setpriv")) && !Files.isExecutable(Path.of("/bin/setpriv"))) {
            String why = "setpriv (util-linux) is missing, cannot drop CAP_NET_ADMIN for a child";
            System.out.println("SKIPPED (NetdevPrivilegeTest): " + why);
            Assumptions.abort(why);
        }
    }

    @AfterAll
    static void cleanup() {
        if (ns != null) {
            ns.close();
        }
    }

    private static Map<String, String> probe(String kind) throws IOException, InterruptedException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = ns.execCommand("setpriv", "--inh-caps=-net_admin", "--bounding-set=-net_admin", "--",
                java, "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                BindProbe.class.getName(), kind, "1");
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(5, TimeUnit.MINUTES)).isTrue();
        assertThat(p.exitValue()).as("probe output:\n%s", out).isZero();
        Map<String, String> kv = new LinkedHashMap<>();
        for (String line : out.lines().toList()) {
            int eq = line.indexOf('=');
            if (eq > 0) {
                kv.put(line.substring(0, eq), line.substring(eq + 1));
            }
        }
        // the probe really ran without the capability
        assertThat(Long.parseUnsignedLong(kv.get("capeff"), 16) & CAP_NET_ADMIN_BIT).isZero();
        return kv;
    }

    @Test
    void bindRxWithoutCapNetAdminIsEperm() throws Exception {
        Map<String, String> r = probe("rx");
        assertThat(r).containsEntry("result", "refused").containsEntry("errno", "EPERM");
        assertThat(r.get("explanation")).contains("bind-rx needs CAP_NET_ADMIN");
    }

    @Test
    void bindTxWithoutCapNetAdminReachesTheDriverCheck() throws Exception {
        // Linux 6.16-6.19 check no privilege for bind-tx, so lo's missing netmem TX support answers
        Map<String, String> r = probe("tx");
        assertThat(r).containsEntry("result", "refused");
        if (r.get("errno").equals("EPERM")) {
            assertThat(r.get("explanation")).contains("privilege");
        } else {
            assertThat(r).containsEntry("errno", "EOPNOTSUPP")
                    .containsEntry("extack", "Driver does not support netmem TX");
        }
    }
}
