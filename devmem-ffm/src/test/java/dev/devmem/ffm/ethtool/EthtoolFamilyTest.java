package dev.devmem.ffm.ethtool;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.devmem.api.Errno;
import dev.devmem.api.NetlinkException;
import dev.devmem.api.SyscallException;
import dev.devmem.ffm.testing.HostTools;
import dev.devmem.ffm.testing.TestNetns;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.OptionalInt;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The ethtool family against the real kernel in a throw-away namespace (lo, veth va/vb), checked
 * against what the {@code ethtool} tool reports for the same namespace. veth answers channels and
 * features, and refuses rings, RSS and flow steering; lo refuses channels too.
 */
class EthtoolFamilyTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static TestNetns ns;

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

    private static <T> T withEthtool(EthtoolCall<T> call) throws Exception {
        return ns.call(() -> {
            try (Ethtool e = Ethtool.open()) {
                return call.apply(e);
            }
        });
    }

    @FunctionalInterface
    private interface EthtoolCall<T> {
        T apply(Ethtool e) throws Exception;
    }

    /** The numbers of {@code ethtool -l}: "Pre-set maximums" then "Current hardware settings". */
    private static Map<String, OptionalInt> ethtoolL(String ifname) {
        String out = HostTools.runIn(ns, "ethtool", "-l", ifname).outOrThrow();
        Map<String, OptionalInt> m = new HashMap<>();
        String section = null;
        for (String line : out.lines().toList()) {
            if (line.startsWith("Pre-set maximums")) {
                section = "max";
            } else if (line.startsWith("Current hardware settings")) {
                section = "cur";
            } else if (section != null) {
                Matcher x = Pattern.compile("^(RX|TX|Other|Combined):\\s+(\\S+)").matcher(line);
                if (x.find()) {
                    String v = x.group(2);
                    m.put(section + "-" + x.group(1), v.equals("n/a") ? OptionalInt.empty() : OptionalInt.of(Integer.parseInt(v)));
                }
            }
        }
        return m;
    }

    @Test
    void channelsGetOnVethMatchesEthtoolL() throws Exception {
        HostTools.assumeOnPath("ethtool");
        EthtoolChannels c = withEthtool(e -> e.channels("va"));
        Map<String, OptionalInt> tool = ethtoolL("va");
        assertThat(c.rxMax()).isEqualTo(tool.get("max-RX"));
        assertThat(c.txMax()).isEqualTo(tool.get("max-TX"));
        assertThat(c.otherMax()).isEqualTo(tool.get("max-Other"));
        assertThat(c.combinedMax()).isEqualTo(tool.get("max-Combined"));
        assertThat(c.rx()).isEqualTo(tool.get("cur-RX"));
        assertThat(c.tx()).isEqualTo(tool.get("cur-TX"));
        assertThat(c.combined()).isEqualTo(tool.get("cur-Combined"));
        // what the fact sheet saw: one rx and one tx channel in use on veth, no combined ones
        assertThat(c.rx()).hasValue(1);
        assertThat(c.tx()).hasValue(1);
        assertThat(c.combined()).isEmpty();
        assertThat(c.rxQueues()).isEqualTo(1);
    }

    @Test
    void channelsGetOnLoIsRefusedLikeEthtool() throws Exception {
        HostTools.assumeOnPath("ethtool");
        assertThat(HostTools.runIn(ns, "ethtool", "-l", "lo").err()).contains("Operation not supported");
        assertThatThrownBy(() -> withEthtool(e -> e.channels("lo")))
                .isInstanceOfSatisfying(NetlinkException.class, x -> {
                    assertThat(x.errno()).isEqualTo(Errno.EOPNOTSUPP);
                    assertThat(x.operation()).isEqualTo("ethtool channels-get lo");
                });
    }

    /** ethtool 6.1 prints some features under their old ioctl-era names. */
    private static final Map<String, String> LEGACY = Map.of(
            "ntuple-filters", "rx-ntuple-filter", "generic-receive-offload", "rx-gro",
            "large-receive-offload", "rx-lro", "receive-hashing", "rx-hashing",
            "rx-vlan-offload", "rx-vlan-hw-parse", "tx-vlan-offload", "tx-vlan-hw-insert",
            "rx-checksumming", "rx-checksum", "generic-segmentation-offload", "tx-generic-segmentation");

    @Test
    void featuresGetMatchesEthtoolK() throws Exception {
        HostTools.assumeOnPath("ethtool");
        EthtoolFeatures verbose = withEthtool(e -> e.features("va", false));
        EthtoolFeatures compact = withEthtool(e -> e.features("va", true));
        assertThat(compact.hw().compact()).isTrue();
        assertThat(verbose.hw().compact()).isFalse();
        assertThat(compact.all()).isEqualTo(verbose.all());

        JsonNode tool = JSON.readTree(HostTools.runIn(ns, "ethtool", "--json", "-k", "va").outOrThrow()).get(0);
        int compared = 0;
        for (var it = tool.fields(); it.hasNext(); ) {
            var e = it.next();
            if (!e.getValue().isObject() || e.getValue().get("fixed").isNull()) {
                continue; // "ifname", and groups ethtool folds from several bits
            }
            String name = LEGACY.getOrDefault(e.getKey(), e.getKey());
            var f = verbose.feature(name);
            assertThat(f).as(name).isPresent();
            assertThat(f.get().active()).as(name + " active").isEqualTo(e.getValue().get("active").asBoolean());
            assertThat(f.get().fixed()).as(name + " fixed").isEqualTo(e.getValue().get("fixed").asBoolean());
            assertThat(f.get().wanted()).as(name + " requested").isEqualTo(e.getValue().get("requested").asBoolean());
            compared++;
        }
        assertThat(compared).isGreaterThan(40);
        // found by name whatever bit this kernel gave it: fixed off on veth, as ethtool -k says
        EthtoolFeatures.Feature ntuple = verbose.feature(EthtoolSpec.FEATURE_NTUPLE).orElseThrow();
        assertThat(ntuple.active()).isFalse();
        assertThat(ntuple.fixed()).isTrue();
        assertThat(HostTools.runIn(ns, "ethtool", "-k", "va").out()).contains("ntuple-filters: off [fixed]");
        assertThat(verbose.feature("no-such-feature")).isEmpty();
    }

    private static boolean toolSaysOn(String ifname, String legacyOrName) {
        String out = HostTools.runIn(ns, "ethtool", "-k", ifname).outOrThrow();
        for (String line : out.lines().toList()) {
            String l = line.strip();
            if (l.startsWith(legacyOrName + ":")) {
                return l.substring(legacyOrName.length() + 1).strip().startsWith("on");
            }
        }
        throw new AssertionError(legacyOrName + " not in ethtool -k " + ifname + ":\n" + out);
    }

    @Test
    void setAFeatureVethAllowsThenRestoreIt() throws Exception {
        HostTools.assumeOnPath("ethtool");
        assertThat(toolSaysOn("va", "rx-gro-list")).isFalse();
        FeatureChange on = withEthtool(e -> e.setFeatures("va", Map.of("rx-gro-list", true)));
        assertThat(on.fullyApplied()).isTrue();
        assertThat(on.changed()).containsEntry("rx-gro-list", true);
        assertThat(toolSaysOn("va", "rx-gro-list")).isTrue();
        assertThat(withEthtool(e -> e.features("va")).feature("rx-gro-list").orElseThrow().active()).isTrue();

        FeatureChange off = withEthtool(e -> e.setFeatures("va", Map.of("rx-gro-list", false)));
        assertThat(off.changed()).containsEntry("rx-gro-list", false);
        assertThat(toolSaysOn("va", "rx-gro-list")).isFalse();

        // asking for what already is changes nothing
        FeatureChange same = withEthtool(e -> e.setFeatures("va", Map.of("rx-gro-list", false)));
        assertThat(same.changed()).isEmpty();
        assertThat(same.fullyApplied()).isTrue();
    }

    @Test
    void ntupleOnVethIsAcceptedButNotFollowed() throws Exception {
        HostTools.assumeOnPath("ethtool");
        FeatureChange c = withEthtool(e -> e.setFeatures("va", Map.of(EthtoolSpec.FEATURE_NTUPLE, true)));
        assertThat(c.notApplied()).containsEntry(EthtoolSpec.FEATURE_NTUPLE, true);
        assertThat(c.changed()).isEmpty();
        assertThatThrownBy(c::requireApplied).isInstanceOfSatisfying(SyscallException.class, x -> {
            assertThat(x.errno()).isEqualTo(Errno.EOPNOTSUPP);
            assertThat(x.getMessage()).contains("rx-ntuple-filter stayed off (requested on)");
        });
        assertThat(toolSaysOn("va", "ntuple-filters")).isFalse();
    }

    /** The kernel resolves names itself; an unknown one is EOPNOTSUPP, not EINVAL (Linux 6.18). */
    @Test
    void anUnknownFeatureNameIsRefusedByTheKernel() {
        assertThatThrownBy(() -> withEthtool(e -> e.setFeatures("va", Map.of("no-such-feature", true))))
                .isInstanceOfSatisfying(NetlinkException.class, x -> {
                    assertThat(x.errno()).isEqualTo(Errno.EOPNOTSUPP);
                    assertThat(x.extackMessage()).hasValue("bit name not found");
                    assertThat(x.offendingAttribute()).hasValue("features.wanted.bits.bit[0].name");
                });
    }

    @Test
    void ringsGetOnVethAndLoIsRefusedLikeEthtoolG() throws Exception {
        HostTools.assumeOnPath("ethtool");
        for (String ifname : new String[] {"va", "lo"}) {
            HostTools.Result tool = HostTools.runIn(ns, "ethtool", "-g", ifname);
            assertThat(tool.ok()).as("ethtool -g " + ifname).isFalse();
            assertThat(tool.err()).contains("Operation not supported");
            assertThatThrownBy(() -> withEthtool(e -> e.rings(ifname)))
                    .isInstanceOfSatisfying(NetlinkException.class, x -> {
                        assertThat(x.errno()).isEqualTo(Errno.EOPNOTSUPP);
                        assertThat(x.operation()).isEqualTo("ethtool rings-get " + ifname);
                        assertThat(x.explanation()).contains("header split");
                    });
        }
    }

    @Test
    void ringsSetTcpDataSplitIsRefusedWithTheKernelsText() {
        assertThatThrownBy(() -> withEthtool(e -> {
            e.setRings("va", RingsChange.none().withTcpDataSplit(TcpDataSplit.ENABLED));
            return null;
        })).isInstanceOfSatisfying(NetlinkException.class, x -> {
            assertThat(x.errno()).isEqualTo(Errno.EOPNOTSUPP);
            assertThat(x.extackMessage()).hasValue("setting TCP data split is not supported");
            assertThat(x.offendingAttribute()).hasValue("rings.tcp-data-split");
        });
        assertThatThrownBy(() -> withEthtool(e -> {
            e.setRings("va", RingsChange.none().withHdsThresh(0));
            return null;
        })).isInstanceOfSatisfying(NetlinkException.class, x -> {
            assertThat(x.errno()).isEqualTo(Errno.EOPNOTSUPP);
            assertThat(x.extackMessage()).hasValue("setting hds-thresh is not supported");
        });
    }

    @Test
    void rssOverNetlinkAndIoctlIsRefusedOnVeth() throws Exception {
        HostTools.assumeOnPath("ethtool");
        assertThat(HostTools.runIn(ns, "ethtool", "-x", "va").ok()).isFalse();
        assertThatThrownBy(() -> withEthtool(e -> e.rss("va")))
                .isInstanceOfSatisfying(SyscallException.class, x -> assertThat(x.errno()).isEqualTo(Errno.EOPNOTSUPP));
        assertThatThrownBy(() -> withEthtool(e -> {
            e.setRssIndirection("va", new int[] {0, 0, 0, 0});
            return null;
        })).isInstanceOfSatisfying(SyscallException.class, x -> assertThat(x.errno()).isEqualTo(Errno.EOPNOTSUPP));
        assertThatThrownBy(() -> withEthtool(e -> e.ioctl().rxfhIndirection("va")))
                .isInstanceOfSatisfying(SyscallException.class, x -> {
                    assertThat(x.errno()).isEqualTo(Errno.EOPNOTSUPP);
                    assertThat(x.operation()).isEqualTo("SIOCETHTOOL ETHTOOL_GRXFHINDIR va");
                });
        assertThatThrownBy(() -> withEthtool(e -> {
            e.ioctl().setRxfhIndirection("va", new int[0]);
            return null;
        })).isInstanceOfSatisfying(SyscallException.class, x -> assertThat(x.errno()).isEqualTo(Errno.EOPNOTSUPP));
    }

    @Test
    void flowSteeringIoctlsAreRefusedOnVethLikeEthtoolN() throws Exception {
        HostTools.assumeOnPath("ethtool");
        HostTools.Result tool = HostTools.runIn(ns, "ethtool", "-n", "va");
        assertThat(tool.ok()).isFalse();
        assertThat(tool.err()).contains("Operation not supported");
        Map<String, Callable<?>> calls = new LinkedHashMap<>();
        calls.put("ETHTOOL_GRXRINGS", () -> withEthtool(e -> e.ioctl().rxRings("va")));
        calls.put("ETHTOOL_GRXCLSRLCNT", () -> withEthtool(e -> e.ioctl().ruleCount("va")));
        calls.put("ETHTOOL_GRXCLSRLALL", () -> withEthtool(e -> e.ioctl().rules("va")));
        calls.put("ETHTOOL_GRXCLSRULE", () -> withEthtool(e -> e.ioctl().rule("va", 0)));
        calls.put("ETHTOOL_SRXCLSRLINS", () -> withEthtool(e -> e.ioctl().insertRule("va",
                FlowRuleSpec.tcp(java.net.InetAddress.getByName("10.1.1.1"), 5201, 1))));
        calls.put("ETHTOOL_SRXCLSRLDEL", () -> withEthtool(e -> {
            e.ioctl().deleteRule("va", 0);
            return null;
        }));
        for (var c : calls.entrySet()) {
            assertThatThrownBy(() -> c.getValue().call()).as(c.getKey())
                    .isInstanceOfSatisfying(SyscallException.class, x -> {
                        assertThat(x.errno()).isEqualTo(Errno.EOPNOTSUPP);
                        // GRXCLSRLALL asks for the count first
                        assertThat(x.operation()).startsWith("SIOCETHTOOL ETHTOOL_").endsWith("va");
                        assertThat(x.explanation()).contains("flow steering");
                    });
        }
    }

    @Test
    void driverInfoMatchesEthtoolI() throws Exception {
        HostTools.assumeOnPath("ethtool");
        DriverInfo d = withEthtool(e -> e.ioctl().driverInfo("va"));
        Map<String, String> tool = new HashMap<>();
        for (String line : HostTools.runIn(ns, "ethtool", "-i", "va").outOrThrow().lines().toList()) {
            int colon = line.indexOf(':');
            if (colon > 0) {
                tool.put(line.substring(0, colon), line.substring(colon + 1).strip());
            }
        }
        assertThat(d.driver()).isEqualTo(tool.get("driver")).isEqualTo("veth");
        assertThat(d.version()).isEqualTo(tool.get("version"));
        assertThat(d.firmwareVersion()).isEqualTo(tool.get("firmware-version"));
        assertThat(d.busInfo()).isEqualTo(tool.get("bus-info"));
        // lo has no driver to ask: ethtool -i fails the same way
        assertThat(HostTools.runIn(ns, "ethtool", "-i", "lo").err()).contains("Operation not supported");
        assertThatThrownBy(() -> withEthtool(e -> e.ioctl().driverInfo("lo")))
                .isInstanceOfSatisfying(SyscallException.class, x -> assertThat(x.errno()).isEqualTo(Errno.EOPNOTSUPP));
    }

    @Test
    void anUnknownInterfaceIsEnodevOverNetlinkAndIoctl() {
        assertThatThrownBy(() -> withEthtool(e -> e.channels("nosuch0")))
                .isInstanceOfSatisfying(NetlinkException.class, x -> {
                    assertThat(x.errno()).isEqualTo(Errno.ENODEV);
                    assertThat(x.extackMessage()).hasValue("no device matches name");
                    assertThat(x.explanation()).contains("no interface nosuch0 in this network namespace");
                });
        assertThatThrownBy(() -> withEthtool(e -> e.ioctl().driverInfo("nosuch0")))
                .isInstanceOfSatisfying(SyscallException.class, x -> assertThat(x.errno()).isEqualTo(Errno.ENODEV));
        // va exists only inside the namespace: from the test's own thread (root namespace) it is unknown
        assertThatThrownBy(() -> {
            try (EthtoolIoctl io = EthtoolIoctl.open()) {
                io.driverInfo("va");
            }
        }).isInstanceOfSatisfying(SyscallException.class, x -> assertThat(x.errno()).isEqualTo(Errno.ENODEV));
    }

    @Test
    void featureNamesComeFromTheKernelsStringSet() throws Exception {
        var names = withEthtool(Ethtool::featureNames);
        assertThat(names).contains(EthtoolSpec.FEATURE_NTUPLE, "rx-gro", "rx-gro-list", "tx-generic-segmentation");
        var named = names.stream().filter(n -> !n.isEmpty()).toList();
        assertThat(named.stream().distinct().count()).isEqualTo(named.size());
        assertThat(named.size()).isGreaterThan(55);
        // unused bits have empty names; they are not features
        assertThat(withEthtool(e -> e.features("va")).all()).hasSize(named.size());
    }
}
