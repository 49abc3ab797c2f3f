package dev.devmem.ffm.nicsetup;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.devmem.api.Errno;
import dev.devmem.api.NetlinkException;
import dev.devmem.api.SyscallException;
import dev.devmem.ffm.ethtool.EthtoolSpec;
import dev.devmem.ffm.ethtool.FlowRuleSpec;
import dev.devmem.ffm.testing.HostTools;
import dev.devmem.ffm.testing.TestNetns;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The reversible NIC setup against the real kernel on veth, which refuses header split, ntuple, RSS
 * and flow steering, but lets some offloads be toggled: those carry the restore-path tests. State
 * before and after is read with the {@code ethtool} tool, not with the code under test.
 */
class NicSetupTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static TestNetns ns;

    @TempDir
    Path stateDir;

    @BeforeAll
    static void namespace() {
        ns = TestNetns.create();
    }

    @AfterAll
    static void cleanup() {
        if (ns != null) {
            ns.close();
        }
    }

    @BeforeEach
    void needEthtool() {
        HostTools.assumeOnPath("ethtool");
    }

    @AfterEach
    void putOffloadsBack() {
        HostTools.runIn(ns, "ethtool", "-K", "va", "rx-gro-list", "off", "rx-udp-gro-forwarding", "off", "gro", "off");
    }

    /** {@code ethtool --json -k va}: every feature's active/requested state, as the tool sees it. */
    private static Map<String, String> toolFeatures() throws Exception {
        JsonNode j = JSON.readTree(HostTools.runIn(ns, "ethtool", "--json", "-k", "va").outOrThrow()).get(0);
        Map<String, String> m = new TreeMap<>();
        j.fields().forEachRemaining(e -> m.put(e.getKey(), e.getValue().toString()));
        return m;
    }

    private static boolean toolSaysOn(String name) {
        for (String line : HostTools.runIn(ns, "ethtool", "-k", "va").outOrThrow().lines().toList()) {
            String l = line.strip();
            if (l.startsWith(name + ":")) {
                return l.substring(name.length() + 1).strip().startsWith("on");
            }
        }
        throw new AssertionError(name + " not in ethtool -k va");
    }

    private List<Path> stateFiles() throws Exception {
        List<Path> out = new ArrayList<>();
        if (Files.isDirectory(stateDir)) {
            try (Stream<Path> s = Files.walk(stateDir)) {
                s.filter(Files::isRegularFile).forEach(out::add);
            }
        }
        return out;
    }

    @Test
    void theDevmemSetupFailsOnVethAtHeaderSplitWithTheKernelsTextAndChangesNothing() throws Exception {
        Map<String, String> before = toolFeatures();
        NicSetupSpec spec = NicSetupSpec.of("va", List.of(1))
                .withFlow(DevmemFlow.to(InetAddress.getByName("10.9.0.1"), 5201)).withStateDir(stateDir);
        assertThat(DevmemNicSetup.plan(spec).steps())
                .containsExactly("header-split", "feature rx-ntuple-filter", "rss", "flow-rule");
        assertThatThrownBy(() -> ns.call(() -> DevmemNicSetup.apply(spec)))
                .isInstanceOfSatisfying(NicSetupException.class, x -> {
                    assertThat(x.step()).isEqualTo("header-split");
                    assertThat(x.errno()).isEqualTo(Errno.EOPNOTSUPP);
                    assertThat(x.getMessage()).contains("setting TCP data split is not supported")
                            .endsWith("Nothing was changed.");
                    assertThat(x.getCause()).isInstanceOfSatisfying(NetlinkException.class, n -> {
                        assertThat(n.extackMessage()).hasValue("setting TCP data split is not supported");
                        assertThat(n.offendingAttribute()).hasValue("rings.tcp-data-split");
                        // the rings-get that came first was refused without text: kept as evidence
                        assertThat(n.getSuppressed()).hasSize(1);
                    });
                    assertThat(x.undone()).isEmpty();
                    assertThat(x.leftInPlace()).isEmpty();
                });
        assertThat(toolFeatures()).isEqualTo(before);
        assertThat(HostTools.runIn(ns, "ethtool", "-n", "va").ok()).isFalse(); // still no rules (none possible)
        assertThat(stateFiles()).isEmpty();
    }

    @Test
    void aFailureMidwayUndoesTheStepsDoneSoFarInReverse() throws Exception {
        Map<String, String> before = toolFeatures();
        NicSetupPlan plan = NicSetupPlan.on("va").stateDir(stateDir)
                .feature("rx-gro-list", true).feature("rx-udp-gro-forwarding", true).headerSplit();
        assertThatThrownBy(() -> ns.call(plan::apply)).isInstanceOfSatisfying(NicSetupException.class, x -> {
            assertThat(x.step()).isEqualTo("header-split");
            assertThat(x.undone()).containsExactly("rx-udp-gro-forwarding off -> on", "rx-gro-list off -> on");
            assertThat(x.leftInPlace()).isEmpty();
            assertThat(x.getMessage()).contains("Undone: rx-udp-gro-forwarding off -> on; rx-gro-list off -> on.");
        });
        assertThat(toolFeatures()).isEqualTo(before);
        assertThat(stateFiles()).isEmpty();
    }

    @Test
    void closeRestoresExactlyWhatTheSetupChangedAndLeavesTheUsersSettings() throws Exception {
        // the user already had GRO on; the setup wants it on too, so it must neither change nor "restore" it
        HostTools.runIn(ns, "ethtool", "-K", "va", "gro", "on").outOrThrow();
        Map<String, String> before = toolFeatures();
        NicSetupPlan plan = NicSetupPlan.on("va").stateDir(stateDir)
                .feature("rx-gro", true).feature("rx-gro-list", true).feature("rx-udp-gro-forwarding", true);
        NicSetupHandle h = ns.call(plan::apply);
        try {
            assertThat(h.changes()).extracting(NicChange::describe)
                    .containsExactly("rx-gro-list off -> on", "rx-udp-gro-forwarding off -> on");
            assertThat(toolSaysOn("generic-receive-offload")).isTrue();
            assertThat(toolSaysOn("rx-gro-list")).isTrue();
            assertThat(toolSaysOn("rx-udp-gro-forwarding")).isTrue();
            // recorded while in place, with this process as the owner
            assertThat(stateFiles()).containsExactly(h.stateFile());
            JsonNode state = JSON.readTree(h.stateFile().toFile());
            assertThat(state.get("format").asText()).isEqualTo("devmem-nic-setup/1");
            assertThat(state.get("pid").asLong()).isEqualTo(ProcessHandle.current().pid());
            assertThat(state.get("ifname").asText()).isEqualTo("va");
            assertThat(state.get("changes")).hasSize(2);
            assertThat(state.get("changes").get(0).get("status").asText()).isEqualTo("done");
        } finally {
            h.close(); // from the test thread, outside the namespace: the handle's sockets are in it
        }
        assertThat(h.isOpen()).isFalse();
        h.close(); // idempotent
        assertThat(toolFeatures()).isEqualTo(before);
        assertThat(toolSaysOn("generic-receive-offload")).isTrue();
        assertThat(stateFiles()).isEmpty();
    }

    @Test
    void aSetupThatFindsEverythingRightChangesNothing() throws Exception {
        NicSetupPlan plan = NicSetupPlan.on("va").stateDir(stateDir).feature("rx-gro-list", false);
        try (NicSetupHandle h = ns.call(plan::apply)) {
            assertThat(h.changes()).isEmpty();
            assertThat(h.flowRuleLocation()).isEmpty();
        }
        assertThat(toolSaysOn("rx-gro-list")).isFalse();
    }

    @Test
    void ntupleOnVethFailsBecauseTheDeviceKeepsItFixedOff() throws Exception {
        NicSetupPlan plan = NicSetupPlan.on("va").stateDir(stateDir).feature("rx-gro-list", true)
                .feature(EthtoolSpec.FEATURE_NTUPLE, true);
        assertThatThrownBy(() -> ns.call(plan::apply)).isInstanceOfSatisfying(NicSetupException.class, x -> {
            assertThat(x.step()).isEqualTo("feature rx-ntuple-filter");
            assertThat(x.errno()).isEqualTo(Errno.EOPNOTSUPP);
            assertThat(x.getMessage()).contains("rx-ntuple-filter stayed off (requested on)");
            assertThat(x.undone()).containsExactly("rx-gro-list off -> on");
        });
        assertThat(toolSaysOn("rx-gro-list")).isFalse();
        assertThat(toolSaysOn("ntuple-filters")).isFalse();
    }

    @Test
    void rssAndFlowRuleStepsAreRefusedOnVeth() throws Exception {
        NicSetupPlan rss = NicSetupPlan.on("va").stateDir(stateDir).rssAvoiding(List.of(1));
        assertThatThrownBy(() -> ns.call(rss::apply)).isInstanceOfSatisfying(NicSetupException.class, x -> {
            assertThat(x.step()).isEqualTo("rss");
            assertThat(x.errno()).isEqualTo(Errno.EOPNOTSUPP);
            assertThat(x.getMessage()).startsWith("NIC setup of va failed at step rss: ethtool rss-get va failed: EOPNOTSUPP");
        });
        NicSetupPlan rule = NicSetupPlan.on("va").stateDir(stateDir)
                .flowRule(FlowRuleSpec.tcp(InetAddress.getByName("10.9.0.2"), 4000, InetAddress.getByName("10.9.0.1"), 5201, 1), true);
        assertThatThrownBy(() -> ns.call(rule::apply)).isInstanceOfSatisfying(NicSetupException.class, x -> {
            assertThat(x.step()).isEqualTo("flow-rule");
            assertThat(x.errno()).isEqualTo(Errno.EOPNOTSUPP);
            assertThat(x.getCause()).isInstanceOfSatisfying(SyscallException.class,
                    s -> assertThat(s.operation()).isEqualTo("SIOCETHTOOL ETHTOOL_GRXCLSRLCNT va"));
        });
        assertThat(stateFiles()).isEmpty();
    }

    @Test
    void anUnknownInterfaceTouchesNothing() {
        assertThatThrownBy(() -> ns.call(() -> NicSetupPlan.on("nosuch0").stateDir(stateDir).headerSplit().apply()))
                .isInstanceOfSatisfying(SyscallException.class, x -> assertThat(x.errno()).isEqualTo(Errno.ENODEV));
        assertThat(stateDir).isEmptyDirectory();
    }

    @Test
    void aSecondSetupOfTheSameInterfaceIsBusyUntilTheFirstCloses() throws Exception {
        NicSetupPlan plan = NicSetupPlan.on("va").stateDir(stateDir).feature("rx-gro-list", true);
        NicSetupHandle first = ns.call(plan::apply);
        try {
            assertThatThrownBy(() -> ns.call(plan::apply)).isInstanceOfSatisfying(NicSetupException.class, x -> {
                assertThat(x.step()).isEqualTo("lock");
                assertThat(x.errno()).isEqualTo(Errno.EBUSY);
                assertThat(x.getMessage()).contains("already set up by pid " + ProcessHandle.current().pid());
            });
            assertThat(toolSaysOn("rx-gro-list")).isTrue();
        } finally {
            first.close();
        }
        try (NicSetupHandle second = ns.call(plan::apply)) {
            assertThat(second.changes()).hasSize(1);
        }
        assertThat(toolSaysOn("rx-gro-list")).isFalse();
    }

    /** A pid that existed and is gone: a finished child's. */
    private static long deadPid() throws Exception {
        Process p = new ProcessBuilder("true").start();
        p.waitFor();
        long pid = p.pid();
        assertThat(ProcessHandle.of(pid)).isEmpty();
        return pid;
    }

    @Test
    void stateLeftByADeadProcessIsUndoneByCleanupAndALiveOnesIsLeftAlone() throws Exception {
        NicSetupPlan crashed = NicSetupPlan.on("va").stateDir(stateDir).feature("rx-gro-list", true)
                .feature("rx-udp-gro-forwarding", true);
        NicSetupHandle h = ns.call(crashed::apply);
        h.abandonWithoutRestoring(); // as if the process died here
        Path file = h.stateFile();
        String text = Files.readString(file);
        long me = ProcessHandle.current().pid();
        Files.writeString(file, text.replace("\"pid\": " + me + ",", "\"pid\": " + deadPid() + ","));
        assertThat(toolSaysOn("rx-gro-list")).isTrue();

        // a live setup on the peer, owned by this process: reported, not touched
        NicSetupHandle live = ns.call(NicSetupPlan.on("vb").stateDir(stateDir).feature("rx-gro-list", true)::apply);
        try {
            List<StaleSetup> done = ns.call(() -> DevmemNicSetup.cleanupStale(stateDir));
            assertThat(done).hasSize(2);
            StaleSetup dead = done.stream().filter(s -> s.ifname().equals("va")).findFirst().orElseThrow();
            assertThat(dead.ownerAlive()).isFalse();
            assertThat(dead.removed()).isTrue();
            assertThat(dead.failures()).isEmpty();
            assertThat(dead.actions()).containsExactly("restored rx-udp-gro-forwarding off", "restored rx-gro-list off");
            StaleSetup alive = done.stream().filter(s -> s.ifname().equals("vb")).findFirst().orElseThrow();
            assertThat(alive.ownerAlive()).isTrue();
            assertThat(alive.removed()).isFalse();
            assertThat(alive.actions()).isEmpty();
            assertThat(Files.exists(live.stateFile())).isTrue();
        } finally {
            live.close();
        }
        assertThat(toolSaysOn("rx-gro-list")).isFalse();
        assertThat(toolSaysOn("rx-udp-gro-forwarding")).isFalse();
        assertThat(stateFiles()).isEmpty();
    }

    @Test
    void aPendingChangeOfADeadProcessIsUndoneToo() throws Exception {
        // it died between recording the change and hearing back from the kernel, which did make it
        HostTools.runIn(ns, "ethtool", "-K", "va", "rx-gro-list", "on").outOrThrow();
        int ifindex = ns.call(() -> dev.devmem.ffm.sys.Syscalls.ifNameToIndex("va"));
        long netns = ns.call(DevmemNicSetup::currentNetns);
        Path file = NicStateFile.fileFor(stateDir, netns, "va");
        Files.createDirectories(file.getParent());
        NicStateFile.writeContent(file, new NicStateFile.Content(deadPid(), java.util.OptionalLong.empty(), netns, "va",
                ifindex, "2026-01-01T00:00:00Z",
                List.of(new NicStateFile.Entry(new NicChange.FeatureChanged("rx-gro-list", false, true), false))));
        // a new setup of va finds the dead owner's file, cleans it up, and goes ahead
        try (NicSetupHandle h = ns.call(NicSetupPlan.on("va").stateDir(stateDir).feature("rx-udp-gro-forwarding", true)::apply)) {
            assertThat(toolSaysOn("rx-gro-list")).isFalse();
            assertThat(h.changes()).hasSize(1);
        }
        assertThat(stateFiles()).isEmpty();
    }

    @Test
    void aStateFileForAnInterfaceThatWasRecreatedIsJustRemoved() throws Exception {
        long netns = ns.call(DevmemNicSetup::currentNetns);
        Path file = NicStateFile.fileFor(stateDir, netns, "va");
        Files.createDirectories(file.getParent());
        NicStateFile.writeContent(file, new NicStateFile.Content(deadPid(), java.util.OptionalLong.empty(), netns, "va",
                4242, "2026-01-01T00:00:00Z",
                List.of(new NicStateFile.Entry(new NicChange.FeatureChanged("rx-gro", true, false), true))));
        List<StaleSetup> done = ns.call(() -> DevmemNicSetup.cleanupStale(stateDir));
        assertThat(done).singleElement().satisfies(s -> {
            assertThat(s.removed()).isTrue();
            assertThat(s.actions()).singleElement().asString().contains("not 4242");
        });
        assertThat(toolSaysOn("generic-receive-offload")).isFalse(); // the recorded "restore gro on" was not applied
    }

    @Test
    void aChildProcessThatCrashesWithASetupInPlaceIsCleanedUpAfter() throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        HostTools.Result child = HostTools.runIn(ns, java, "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), CrashingSetup.class.getName(),
                stateDir.toString(), "va", "rx-gro-list");
        assertThat(child.exitCode()).as(child.err()).isZero();
        assertThat(child.out()).contains("applied [FeatureChanged[feature=rx-gro-list");
        assertThat(toolSaysOn("rx-gro-list")).isTrue();
        assertThat(stateFiles()).hasSize(1);

        List<StaleSetup> done = ns.call(() -> DevmemNicSetup.recordedSetups(stateDir));
        assertThat(done).singleElement().satisfies(s -> assertThat(s.ownerAlive()).isFalse());
        List<StaleSetup> cleaned = ns.call(() -> DevmemNicSetup.cleanupStale(stateDir));
        assertThat(cleaned).singleElement().satisfies(s -> {
            assertThat(s.removed()).isTrue();
            assertThat(s.actions()).containsExactly("restored rx-gro-list off");
        });
        assertThat(toolSaysOn("rx-gro-list")).isFalse();
        assertThat(stateFiles()).isEmpty();
    }
}
