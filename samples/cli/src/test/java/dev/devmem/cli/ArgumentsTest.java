package dev.devmem.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Option values, and command lines that must be refused with exit 2 before anything is opened. */
class ArgumentsTest {

    @Test
    void sizes() {
        assertThat(Sizes.parse("4096")).isEqualTo(4096);
        assertThat(Sizes.parse("64M")).isEqualTo(64L << 20);
        assertThat(Sizes.parse("64MiB")).isEqualTo(64L << 20);
        assertThat(Sizes.parse("1g")).isEqualTo(1L << 30);
        assertThat(Sizes.parse("2K")).isEqualTo(2048);
        assertThat(Sizes.parse("1T")).isEqualTo(1L << 40);
        assertThat(Sizes.parse("100B")).isEqualTo(100);
        assertThatThrownBy(() -> Sizes.parse("1.5G")).hasMessageContaining("K, M, G or T");
        assertThatThrownBy(() -> Sizes.parse("-1")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Sizes.parse("99999999999T")).hasMessageContaining("too large");
        assertThat(Sizes.human(64L << 20)).isEqualTo("64.0 MiB");
        assertThat(Sizes.human(100)).isEqualTo("100 B");
    }

    @Test
    void addresses() throws Exception {
        assertThat(HostPort.parse("127.0.0.1:5201", true, true))
                .isEqualTo(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 5201));
        assertThat(HostPort.parse("[::1]:5201", true, true).getAddress()).isEqualTo(InetAddress.getByName("::1"));
        assertThat(HostPort.parse(":5201", true, true).getAddress().isAnyLocalAddress()).isTrue();
        assertThat(HostPort.parse("127.0.0.1:0", true, true).getPort()).isZero();
        assertThat(HostPort.format(new InetSocketAddress(InetAddress.getByName("::1"), 7))).isEqualTo("[0:0:0:0:0:0:0:1]:7");
        assertThatThrownBy(() -> HostPort.parse("127.0.0.1", true, true)).hasMessageContaining("HOST:PORT");
        assertThatThrownBy(() -> HostPort.parse("::1:5201", true, true)).hasMessageContaining("brackets");
        assertThatThrownBy(() -> HostPort.parse("127.0.0.1:http", true, true)).hasMessageContaining("not a number");
        assertThatThrownBy(() -> HostPort.parse("127.0.0.1:70000", true, true)).hasMessageContaining("[0, 65535]");
        assertThatThrownBy(() -> HostPort.parse("127.0.0.1:0", false, false)).hasMessageContaining("[1, 65535]");
        assertThatThrownBy(() -> HostPort.parse(":5201", false, false)).hasMessageContaining("a host is needed");
    }

    @Test
    void queuesAndDmabufs() {
        assertThat(QueueList.parse("15")).containsExactly(15);
        assertThat(QueueList.parse("0,4-6")).containsExactly(0, 4, 5, 6);
        assertThatThrownBy(() -> QueueList.parse("1,1")).hasMessageContaining("twice");
        assertThatThrownBy(() -> QueueList.parse("3-1")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> QueueList.parse("a")).isInstanceOf(IllegalArgumentException.class);
        assertThat(DmabufChoice.parse("dma-heap").heap()).isEqualTo("system");
        assertThat(DmabufChoice.parse("dma-heap:reserved").heap()).isEqualTo("reserved");
        assertThat(DmabufChoice.parse("cuda:1").number()).isEqualTo(1);
        assertThat(DmabufChoice.parse("Emulated")).isEqualTo(DmabufChoice.EMULATED);
        assertThatThrownBy(() -> DmabufChoice.parse("gpu")).hasMessageContaining("none, udmabuf");
        assertThatThrownBy(() -> DmabufChoice.parse("udmabuf:3")).hasMessageContaining("takes no");
        assertThat(DmabufChoice.parse("fd:3").source(4096)).isEqualTo(dev.devmem.api.DmabufSource.ofFd(3, 4096));
        assertThatThrownBy(() -> DmabufChoice.parse("fd")).hasMessageContaining("fd:N");
    }

    @ParameterizedTest
    @ValueSource(strings = {"127.0.0.1", "127.0.0.1:99999", "::1:5201", "localhost:port", "[::1:5201"})
    void aBadListenValueIsAUsageError(String listen) {
        Cli.Run r = Cli.run("recv", "--listen", listen);
        assertThat(r.exit()).as(r.toString()).isEqualTo(ExitCodes.USAGE);
        assertThat(r.err()).contains("--listen").contains(listen);
        assertThat(r.out()).isEmpty();
    }

    @Test
    void optionsThatDoNotGoTogetherAreUsageErrorsNamingThem() {
        List<List<String>> cases = List.of(
                List.of("recv", "--listen", "127.0.0.1:0", "--dmabuf", "udmabuf"),                    // no --iface/--queues
                List.of("recv", "--listen", "127.0.0.1:0", "--iface", "eth1"),                        // udmabuf, no queues
                List.of("recv", "--listen", "127.0.0.1:0", "--dmabuf", "none", "--queues", "1"),
                List.of("recv", "--listen", "127.0.0.1:0", "--backend", "linux", "--dmabuf", "emulated"),
                List.of("recv", "--listen", "127.0.0.1:0", "--backend", "emulated", "--dmabuf", "udmabuf"),
                List.of("recv", "--listen", "127.0.0.1:0", "--header-split-failures", "0.1"),
                List.of("recv", "--listen", "127.0.0.1:0", "--dmabuf", "emulated", "--header-split-failures", "2"),
                List.of("recv", "--listen", "127.0.0.1:0", "--setup-nic"),
                List.of("recv", "--listen", "127.0.0.1:0", "--validate", "1"),
                List.of("recv", "--listen", "127.0.0.1:0", "--validate", "7", "--terminator", "13"),
                List.of("recv", "--listen", "127.0.0.1:0", "--terminator", "0"),
                List.of("recv", "--listen", "127.0.0.1:0", "--bytes", "0"),
                List.of("recv"),
                List.of("send", "--connect", "127.0.0.1:0"),
                List.of("send", "--connect", "127.0.0.1:5201", "--pattern", "300"),
                List.of("send", "--connect", "127.0.0.1:5201", "--terminator", "7"),
                List.of("send", "--connect", "127.0.0.1:5201", "--bytes", "1M", "--corrupt-at", "2M"),
                List.of("demo", "--bytes", "1X"),
                List.of("demo", "--backend", "linux", "--dmabuf", "udmabuf"));
        for (List<String> args : cases) {
            Cli.Run r = Cli.run(args.toArray(String[]::new));
            assertThat(r.exit()).as(args + "\n" + r).isEqualTo(ExitCodes.USAGE);
            assertThat(r.err().lines().findFirst().orElse("")).as(args + "\n" + r).isNotBlank();
        }
    }

    @Test
    void everySubcommandHasHelp() {
        for (String cmd : new String[] {"recv", "send", "demo"}) {
            Cli.Run r = Cli.run(cmd, "--help");
            assertThat(r.exit()).isZero();
            assertThat(r.out()).contains("Usage: devmem " + cmd).contains("Exit codes");
        }
        assertThat(Cli.run("--help").out()).contains("recv").contains("send").contains("demo");
    }

    @Test
    void devmemTxOptionsThatDoNotGoTogetherAreUsageErrorsNamingThem() {
        String[][] cases = { // what the message names, then the extra arguments
                {"--iface NAME", "--dmabuf", "udmabuf"},                          // Linux bind-tx needs an interface
                {"--iface NAME", "--dmabuf", "fd:3"},
                {"--copy-fallback", "--copy-fallback"},                           // plain TCP: nothing to fall back from
                {"--iface", "--dmabuf", "none", "--iface", "eth1"},
                {"--slice", "--slice", "64K"},
                {"--max-in-flight", "--max-in-flight", "1M"},
                {"--dmabuf-size", "--dmabuf-size", "4M"},
                {"--no-netmem-tx", "--no-netmem-tx"},
                {"--no-netmem-tx", "--dmabuf", "udmabuf", "--iface", "eth1", "--no-netmem-tx"}, // the emulated NIC's knob
                {"--slice", "--dmabuf", "emulated", "--slice", "128M"},            // bigger than the 64M dmabuf
                {"--slice", "--dmabuf", "emulated", "--dmabuf-size", "1M", "--slice", "2M"},
                {"--max-in-flight", "--dmabuf", "emulated", "--max-in-flight", "0"},
                {"--iface", "--dmabuf", "emulated", "--iface", "a-name-far-too-long"}};
        for (String[] c : cases) {
            List<String> args = new java.util.ArrayList<>(List.of("send", "--connect", "127.0.0.1:5201"));
            args.addAll(List.of(c).subList(1, c.length));
            Cli.Run r = Cli.run(args.toArray(String[]::new));
            assertThat(r.exit()).as(args + "\n" + r).isEqualTo(ExitCodes.USAGE);
            assertThat(r.err().lines().findFirst().orElse("")).as(args + "\n" + r).contains(c[0]);
            assertThat(r.out()).isEmpty();
        }
    }

    @Test
    void sendHelpListsDevmemTx() {
        Cli.Run r = Cli.run("send", "--help");
        assertThat(r.out()).contains("--dmabuf=SOURCE").contains("--iface=NAME").contains("--copy-fallback")
                .contains("--no-netmem-tx").contains("--slice=SIZE").contains("--max-in-flight=SIZE")
                .contains("--dmabuf emulated");
    }

    @Test
    void sendToNobodyIsAnIoErrorOnOneLine() throws Exception {
        int port;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        Cli.Run r = Cli.run("send", "--connect", "127.0.0.1:" + port, "--bytes", "1M");
        assertThat(r.exit()).as(r.toString()).isEqualTo(ExitCodes.IO_ERROR);
        assertThat(r.err()).startsWith("devmem send: connect(127.0.0.1:" + port + ") failed: Connection refused");
        assertThat(r.err().lines().count()).isEqualTo(1);
        Cli.Run verbose = Cli.run("send", "--connect", "127.0.0.1:" + port, "--bytes", "1M", "--verbose");
        assertThat(verbose.err()).contains("\tat ");
    }
}
