package dev.devmem.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.devmem.ffm.nicsetup.NicSetupHandle;
import dev.devmem.ffm.nicsetup.NicSetupPlan;
import dev.devmem.ffm.testing.HostTools;
import dev.devmem.ffm.testing.TestNetns;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code devmem doctor} in a throw-away namespace (lo, veth va/vb, and a two-queue veth vm/vn),
 * checked against what {@code ip -j -d link}, the namespace's sysfs and {@code ethtool} report for
 * the same namespace. Every interface here is lo or veth, so every verdict must be "no", with the
 * kernel's answer as evidence.
 */
class DoctorCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static TestNetns ns;

    @TempDir
    Path stateDir;

    @BeforeAll
    static void namespace() {
        ns = TestNetns.create();
        ns.ip("link", "add", "vm", "numtxqueues", "3", "numrxqueues", "2", "type", "veth",
                "peer", "name", "vn", "numtxqueues", "2", "numrxqueues", "3");
        ns.ip("link", "set", "vm", "up");
        ns.ip("link", "set", "vn", "up");
    }

    @AfterAll
    static void cleanup() {
        if (ns != null) {
            ns.close();
        }
    }

    private record Run(int exitCode, String out, String err) {
    }

    /** {@code Main.run(args)} on the namespace's thread, output captured. */
    private static Run doctor(String... args) throws Exception {
        return ns.call(() -> {
            StringWriter out = new StringWriter();
            StringWriter err = new StringWriter();
            int rc = Main.run(new PrintWriter(out), new PrintWriter(err), args);
            return new Run(rc, out.toString(), err.toString());
        });
    }

    private JsonNode doctorJson(String... extra) throws Exception {
        List<String> args = new ArrayList<>(List.of("doctor", "--json", "--state-dir", stateDir.toString()));
        args.addAll(List.of(extra));
        Run r = doctor(args.toArray(String[]::new));
        assertThat(r.exitCode()).as(r.err()).isZero();
        return JSON.readTree(r.out());
    }

    private static Map<String, JsonNode> byName(JsonNode interfaces) {
        Map<String, JsonNode> m = new HashMap<>();
        interfaces.forEach(i -> m.put(i.get("name").asText(), i));
        return m;
    }

    private static long sysfsQueues(String ifname, String prefix) {
        return ns.exec("ls", "/sys/class/net/" + ifname + "/queues").lines().filter(l -> l.startsWith(prefix)).count();
    }

    @Test
    void jsonDescribesTheNamespaceAsIpAndEthtoolSeeIt() throws Exception {
        HostTools.assumeOnPath("ethtool");
        JsonNode report = doctorJson();
        assertThat(report.get("schema").asText()).isEqualTo("devmem-doctor/1");
        assertThat(report.get("netns").get("name").asText()).isEqualTo(ns.name());
        assertThat(report.get("kernel").asText()).isEqualTo(System.getProperty("os.version"));
        assertThat(report.get("capNetAdmin").asBoolean()).isTrue(); // tests run as root (TestNetns skips otherwise)
        JsonNode netdev = report.get("netdevFamily");
        assertThat(netdev.get("present").asBoolean()).isTrue();
        assertThat(netdev.get("bindRx").asBoolean()).isTrue();
        assertThat(netdev.get("bindTx").asBoolean()).isTrue();
        assertThat(netdev.get("ops").toString()).contains("13", "15");

        // the same interfaces, names and ifindexes as ip -j -d link in that namespace
        Map<String, Integer> ip = new HashMap<>();
        for (JsonNode l : JSON.readTree(ns.ip("-j", "-d", "link"))) {
            ip.put(l.get("ifname").asText(), l.get("ifindex").asInt());
        }
        Map<String, JsonNode> ifaces = byName(report.get("interfaces"));
        assertThat(ifaces.keySet()).containsExactlyInAnyOrderElementsOf(ip.keySet());
        for (var e : ip.entrySet()) {
            assertThat(ifaces.get(e.getKey()).get("ifindex").asInt()).as(e.getKey()).isEqualTo(e.getValue());
        }

        for (JsonNode i : report.get("interfaces")) {
            String name = i.get("name").asText();
            // driver: ethtool -i, or its refusal (lo)
            HostTools.Result drv = HostTools.runIn(ns, "ethtool", "-i", name);
            if (drv.ok()) {
                String tool = drv.out().lines().filter(l -> l.startsWith("driver:")).findFirst().orElseThrow()
                        .substring(7).strip();
                assertThat(i.get("driver").get("name").asText()).as(name).isEqualTo(tool);
            } else {
                assertThat(drv.err()).contains("Operation not supported");
                assertThat(i.get("driver").get("name").isNull()).as(name).isTrue();
                assertThat(i.get("driver").get("error").asText()).contains("ETHTOOL_GDRVINFO", "EOPNOTSUPP");
            }
            // queues in use: the namespace's own sysfs; for veth also ethtool -l's current counts
            assertThat(i.get("queues").get("rx").asLong()).as(name + " rx").isEqualTo(sysfsQueues(name, "rx-"));
            assertThat(i.get("queues").get("tx").asLong()).as(name + " tx").isEqualTo(sysfsQueues(name, "tx-"));
            HostTools.Result ch = HostTools.runIn(ns, "ethtool", "-l", name);
            if (ch.ok()) {
                String cur = ch.out().substring(ch.out().indexOf("Current hardware settings"));
                assertThat(cur).contains("RX:\t\t" + i.get("queues").get("rx").asInt());
                assertThat(cur).contains("TX:\t\t" + i.get("queues").get("tx").asInt());
            }
            // ntuple: ethtool -k
            String k = HostTools.runIn(ns, "ethtool", "-k", name).outOrThrow();
            String line = k.lines().filter(l -> l.startsWith("ntuple-filters:")).findFirst().orElseThrow();
            assertThat(i.get("ntuple").get("active").asBoolean()).isEqualTo(line.contains(": on"));
            assertThat(i.get("ntuple").get("fixed").asBoolean()).isEqualTo(line.contains("[fixed]"));
            // header split: ethtool -g is refused for lo and veth, and so is rings-get
            HostTools.Result g = HostTools.runIn(ns, "ethtool", "-g", name);
            assertThat(g.ok()).isFalse();
            assertThat(i.get("headerSplit").get("supported").asBoolean()).isFalse();
            assertThat(i.get("headerSplit").get("evidence").asText()).contains("rings-get", "EOPNOTSUPP");
            assertThat(i.get("rss").get("supported").asBoolean()).isFalse();
            assertThat(i.get("bindings")).isEmpty();

            // verdicts: "no", with the kernel's answers to the probes as evidence
            JsonNode rx = i.get("rx");
            assertThat(rx.get("verdict").asText()).as(name).isEqualTo("no");
            assertThat(rx.get("reason").asText()).contains("has no netdev queue-management API (bind-rx answers EOPNOTSUPP)");
            assertThat(rx.get("fix").asText()).contains("bnxt_en (6.16+), mlx5 (6.17+), gve (6.18+) or fbnic (6.18+)");
            assertThat(rx.get("evidence").asText()).contains("bind-rx", "ifindex " + i.get("ifindex").asInt(),
                    "EOPNOTSUPP, rejected attribute dmabuf.ifindex");
            JsonNode tx = i.get("tx");
            assertThat(tx.get("verdict").asText()).as(name).isEqualTo("no");
            assertThat(tx.get("evidence").asText()).contains("bind-tx", "kernel says \"Driver does not support netmem TX\"");
            assertThat(tx.get("fix").asText()).isNotBlank();
        }
        assertThat(ifaces.get("va").get("rx").get("reason").asText()).startsWith("driver veth has no");
        assertThat(ifaces.get("vm").get("queues").get("rx").asInt()).isEqualTo(2);
        assertThat(ifaces.get("vm").get("queues").get("tx").asInt()).isEqualTo(3);
        assertThat(report.get("pagePools").asInt()).isZero();
        assertThat(report.get("nicSetupState")).isEmpty();
    }

    @Test
    void theTextReportHasTheTableAndEachVerdictWithItsFix() throws Exception {
        Run r = doctor("doctor", "--state-dir", stateDir.toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out()).contains("network namespace " + ns.name());
        assertThat(r.out()).containsPattern("IFACE +IFINDEX +DRIVER +RXQ +TXQ +HEADER-SPLIT");
        assertThat(r.out()).containsPattern("(?m)^va +\\d+ +veth +1 +1 +unsupported");
        assertThat(r.out()).contains("  RX no: driver veth has no netdev queue-management API");
        assertThat(r.out()).contains("     fix: devmem needs a NIC such as");
        assertThat(r.out()).contains("     kernel: netdev bind-tx (probe: ifindex");
    }

    @Test
    void ifaceLimitsTheReportAndAnUnknownOneIsAOneLineError() throws Exception {
        JsonNode only = doctorJson("--iface", "vb");
        assertThat(only.get("interfaces")).hasSize(1);
        assertThat(only.get("interfaces").get(0).get("name").asText()).isEqualTo("vb");

        Run bad = doctor("doctor", "--iface", "nosuch0");
        assertThat(bad.exitCode()).isEqualTo(ExitCodes.IO_ERROR);
        assertThat(bad.out()).isEmpty();
        assertThat(bad.err().strip()).doesNotContain("\n").startsWith("devmem doctor: doctor --iface nosuch0 failed: ENODEV")
                .contains("network namespace " + ns.name());
    }

    @Test
    void requireExitsThreeNamingEachInterfacesReasonAfterTheReport() throws Exception {
        Run r = doctor("doctor", "--iface", "va", "--require", "rx,tx", "--state-dir", stateDir.toString());
        assertThat(r.exitCode()).isEqualTo(ExitCodes.UNSUPPORTED);
        assertThat(r.out()).as("the report is still printed").contains("  RX no: driver veth has no netdev queue-management API");
        assertThat(r.err().strip().lines().toList()).singleElement().asString()
                .startsWith("devmem doctor: devmem RX is not possible here (va: driver veth has no netdev queue-management API")
                .contains("; devmem TX is not possible here (va: ");

        Run json = doctor("doctor", "--json", "--require", "tx", "--state-dir", stateDir.toString());
        assertThat(json.exitCode()).isEqualTo(ExitCodes.UNSUPPORTED);
        assertThat(JSON.readTree(json.out()).get("interfaces")).hasSizeGreaterThanOrEqualTo(2);
        assertThat(json.err()).contains("devmem TX is not possible here (").contains("va: ").contains("vb: ");

        Run bad = doctor("doctor", "--require", "gpu");
        assertThat(bad.exitCode()).isEqualTo(ExitCodes.USAGE);
    }

    @Test
    void underIpNetnsExecTheProcessDescribesThatNamespace() throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        HostTools.Result r = HostTools.runIn(ns, java, "--enable-native-access=ALL-UNNAMED", "-cp",
                System.getProperty("java.class.path"), Main.class.getName(), "doctor", "--json", "--iface", "va",
                "--state-dir", stateDir.toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        JsonNode report = JSON.readTree(r.out());
        assertThat(report.get("netns").get("name").asText()).isEqualTo(ns.name());
        assertThat(report.get("interfaces").get(0).get("ifindex").asInt())
                .isEqualTo(JSON.readTree(ns.ip("-j", "link", "show", "va")).get(0).get("ifindex").asInt());
    }

    @Test
    void aRecordedNicSetupIsReportedAndALeftoverIsCleanedByNicCleanup() throws Exception {
        NicSetupHandle h = ns.call(NicSetupPlan.on("va").stateDir(stateDir).feature("rx-gro-list", true)::apply);
        try {
            JsonNode state = doctorJson().get("nicSetupState");
            assertThat(state).hasSize(1);
            assertThat(state.get(0).get("ifname").asText()).isEqualTo("va");
            assertThat(state.get(0).get("pid").asLong()).isEqualTo(ProcessHandle.current().pid());
            assertThat(state.get(0).get("ownerAlive").asBoolean()).isTrue();
            assertThat(state.get(0).get("changes").get(0).asText()).isEqualTo("rx-gro-list off -> on");

            Run cleanup = doctor("nic-cleanup", "--state-dir", stateDir.toString());
            assertThat(cleanup.exitCode()).isZero();
            assertThat(cleanup.out()).contains("va: in use by running pid " + ProcessHandle.current().pid() + ", left alone");
        } finally {
            h.close();
        }
        assertThat(doctorJson().get("nicSetupState")).isEmpty();
        Run none = doctor("nic-cleanup", "--state-dir", stateDir.toString());
        assertThat(none.out()).contains("no NIC setups recorded");
    }

    @Test
    void helpStillWorks() throws Exception {
        Run r = doctor("doctor", "--help");
        assertThat(r.exitCode()).isZero();
        assertThat(r.out().replaceAll("\\s+", " ")).contains("--iface=NAME", "--json", "ip netns exec NS devmem doctor");
    }
}
