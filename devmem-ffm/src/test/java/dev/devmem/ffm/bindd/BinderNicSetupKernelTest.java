package dev.devmem.ffm.bindd;

import dev.devmem.ffm.nicsetup.DevmemFlow;
import dev.devmem.ffm.nicsetup.DevmemNicSetup;
import dev.devmem.ffm.nicsetup.NicSetupException;
import dev.devmem.ffm.nicsetup.NicSetupSpec;
import dev.devmem.ffm.testing.HostTools;
import dev.devmem.ffm.testing.TestNetns;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * NIC setup through the daemon against the real kernel: a daemon in a test namespace applies the
 * devmem setup (the production {@link DevmemNicSetup}) for a client that runs as nobody without any
 * capability. On this host's veth the kernel refuses header split, the setup's first step, so the
 * client gets exactly what applying it in-process as root gives: a {@link NicSetupException} at step
 * {@code header-split}, EOPNOTSUPP, the kernel's extack text and attribute; nothing of the veth
 * changes, and no state file is left. (What a setup that does change something leaves behind, and
 * in which order it is undone, is {@link BinderNicSetupUndoTest}.)
 */
class BinderNicSetupKernelTest {
    private static TestNetns ns;
    private static Path dir;
    private static Path stateDir;
    private static BinderDaemon daemon;
    private static final List<String> log = Collections.synchronizedList(new ArrayList<>());

    @BeforeAll
    static void start() throws Exception {
        ns = TestNetns.create();
        Unprivileged.assumeSetpriv();
        HostTools.assumeOnPath("ethtool");
        dir = Unprivileged.sharedDirectory();
        stateDir = Files.createTempDirectory("bindd-nic-state-");
        BinderConfig config = BinderConfig.of(dir.resolve("bindd.sock")).withSocketGid(Unprivileged.NOBODY)
                .withAllowUids(Set.of(Unprivileged.NOBODY)).withNicStateDir(stateDir);
        daemon = ns.call(() -> BinderDaemon.start(config, log::add)); // its threads set up NICs in the namespace
    }

    @AfterAll
    static void stop() throws IOException {
        if (daemon != null) {
            daemon.close();
        }
        if (ns != null) {
            ns.close();
        }
        if (dir != null) {
            Files.deleteIfExists(dir);
        }
        if (stateDir != null) {
            try (Stream<Path> s = Files.walk(stateDir)) {
                for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    static List<Path> files(Path root) throws IOException {
        try (Stream<Path> s = Files.walk(root)) {
            return s.filter(Files::isRegularFile).toList();
        }
    }

    @Test
    void anUnprivilegedClientGetsTheKernelsHeaderSplitRefusalForVethAndNothingChanges() throws Exception {
        String features = ns.exec("ethtool", "-k", "va");
        long refusedBefore = daemon.stats().refused();
        Map<String, String> r = Unprivileged.run(daemon.socket().toString(), "nic", "va", "1", "10.9.0.1", "5201");
        assertThat(r.get("uid")).isEqualTo(Integer.toString(Unprivileged.NOBODY));
        assertThat(Long.parseUnsignedLong(r.get("capeff"), 16)).as("no capability at all").isZero();
        assertThat(r).containsEntry("result", "refused").containsEntry("type", "NicSetupException")
                .containsEntry("step", "header-split").containsEntry("errno", "EOPNOTSUPP")
                .containsEntry("cause", "NetlinkException")
                .containsEntry("extack", "setting TCP data split is not supported")
                .containsEntry("offending", "rings.tcp-data-split")
                .containsEntry("undone", "").containsEntry("left", "");
        assertThat(r.get("message")).endsWith("Nothing was changed.");

        // exactly what root applying the same setup in-process is told
        NicSetupSpec spec = NicSetupSpec.of("va", List.of(1))
                .withFlow(DevmemFlow.to(InetAddress.getByName("10.9.0.1"), 5201)).withStateDir(stateDir);
        NicSetupException direct = ns.call(() -> catchThrowableOfType(NicSetupException.class,
                () -> DevmemNicSetup.apply(spec)));
        assertThat(r.get("message")).isEqualTo(direct.getMessage());

        assertThat(ns.exec("ethtool", "-k", "va")).as("no feature changed").isEqualTo(features);
        assertThat(HostTools.runIn(ns, "ethtool", "-n", "va").ok()).as("still no flow rules (veth has none)").isFalse();
        assertThat(files(stateDir)).as("no state file left").isEmpty();
        assertThat(daemon.stats().nicSetups()).isZero();
        assertThat(daemon.stats().refused()).isEqualTo(refusedBefore + 1);
        assertThat(log).anyMatch(l -> l.startsWith("NIC setup of va rx [1] flow to 10.9.0.1:5201 for pid ")
                && l.contains("refused: NIC setup of va failed at step header-split"));
    }

    @Test
    void aMissingInterfaceIsEnodevFromTheDaemonsNamespace() throws Exception {
        Map<String, String> r = Unprivileged.run(daemon.socket().toString(), "nic", "nosuch0", "1", "10.9.0.1",
                "5201");
        assertThat(r).containsEntry("result", "refused").containsEntry("type", "SyscallException")
                .containsEntry("errno", "ENODEV").containsEntry("operation", "NIC setup of nosuch0");
        assertThat(r.get("explanation")).isEqualTo("there is no interface nosuch0 in this network namespace");
        assertThat(daemon.stats().nicSetups()).isZero();
    }
}
