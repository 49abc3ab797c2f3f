package dev.devmem.ffm.nicsetup;

import dev.devmem.api.DevmemException;
import dev.devmem.ffm.ethtool.FlowRuleSpec;
import dev.devmem.ffm.ethtool.TcpDataSplit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetAddress;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The state file's format and lock, without a kernel. */
class NicStateFileTest {
    @TempDir
    Path dir;

    private static final List<NicChange> EVERY_KIND;

    static {
        try {
            EVERY_KIND = List.of(
                    new NicChange.RingsChanged(Optional.of(TcpDataSplit.DISABLED), OptionalLong.of(256)),
                    new NicChange.RingsChanged(Optional.empty(), OptionalLong.of(0xFFFF_FFFFL)),
                    new NicChange.FeatureChanged("rx-ntuple-filter", false, true),
                    new NicChange.RssChanged(List.of(0, 1, 2, 3), true, List.of(0, 1, 0, 1)),
                    new NicChange.FlowRuleAdded(FlowRuleSpec.tcp(InetAddress.getByName("fd00::2"), 40000,
                            InetAddress.getByName("fd00::1"), 5201, 3), OptionalInt.of(0xFFFF_FFF0), List.of(1, 2)),
                    new NicChange.FlowRuleAdded(FlowRuleSpec.tcp(InetAddress.getByName("10.0.0.1"), 5201, 3),
                            OptionalInt.empty(), List.of()));
        } catch (java.net.UnknownHostException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    @Test
    void everyKindOfChangeSurvivesTheFile() throws Exception {
        Path f = dir.resolve("va.json");
        List<NicStateFile.Entry> entries = EVERY_KIND.stream().map(c -> new NicStateFile.Entry(c, c.hashCode() % 2 == 0)).toList();
        NicStateFile.Content c = new NicStateFile.Content(1234, OptionalLong.of(99), 4026531840L, "va", 3,
                "2026-01-01T00:00:00Z", entries);
        NicStateFile.writeContent(f, c);
        assertThat(NicStateFile.read(f)).hasValue(c);
        assertThat(Files.readString(f)).contains("\"format\": \"devmem-nic-setup/1\"", "\"step\": \"flow-rule\"",
                "\"dst\": \"fd00:0:0:0:0:0:0:1\"", "\"location\": 4294967280");
    }

    @Test
    void theFileIsALock() throws Exception {
        NicStateFile first = NicStateFile.create(dir, 7, "va", 3);
        assertThat(first.path()).isEqualTo(dir.resolve("net-7").resolve("va.json"));
        assertThatThrownBy(() -> NicStateFile.create(dir, 7, "va", 3)).isInstanceOf(FileAlreadyExistsException.class);
        NicStateFile other = NicStateFile.create(dir, 8, "va", 3); // same name, other namespace
        first.delete();
        NicStateFile again = NicStateFile.create(dir, 7, "va", 3);
        assertThat(NicStateFile.read(again.path()).orElseThrow().pid()).isEqualTo(ProcessHandle.current().pid());
        other.delete();
        again.delete();
        try (var s = Files.walk(dir)) {
            assertThat(s.filter(Files::isRegularFile)).isEmpty(); // no temporary files left
        }
    }

    @Test
    void aFileThisLibraryDidNotWriteIsRefusedNotGuessed() throws Exception {
        Path f = dir.resolve("x.json");
        Files.writeString(f, "{\"format\": \"something-else\"}");
        assertThatThrownBy(() -> NicStateFile.read(f)).isInstanceOf(DevmemException.class)
                .hasMessageContaining("not one this library wrote");
        Files.writeString(f, "{\"format\": ");
        assertThatThrownBy(() -> NicStateFile.read(f)).isInstanceOf(DevmemException.class);
        assertThat(NicStateFile.read(dir.resolve("absent.json"))).isEmpty();
    }

    @Test
    void jsonRoundTripsWhatTheFilesHold() {
        Object v = Map.of("a", List.of(1L, -2L, "x\"y\\z\n\u0001"), "b", true);
        assertThat(Json.parse(Json.write(v))).isEqualTo(v);
        Map<?, ?> m = (Map<?, ?>) Json.parse(" {\"k\" : [ ] , \"n\": null} ");
        assertThat(m.get("k")).isEqualTo(List.of());
        assertThat(m.containsKey("n")).isTrue();
        assertThat(m.get("n")).isNull();
        assertThatThrownBy(() -> Json.parse("1.5")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aRecycledPidIsNotTheOwner() {
        ProcessIdentity me = ProcessIdentity.self();
        assertThat(me.startTicks()).isPresent();
        assertThat(me.alive()).isTrue();
        assertThat(new ProcessIdentity(me.pid(), OptionalLong.of(me.startTicks().getAsLong() + 1)).alive()).isFalse();
        assertThat(new ProcessIdentity(Long.MAX_VALUE, OptionalLong.empty()).alive()).isFalse();
    }
}
