package dev.devmem.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.devmem.cli.DoctorReport.Iface;
import dev.devmem.cli.DoctorReport.NicSetupState;
import dev.devmem.cli.DoctorReport.Verdict;
import dev.devmem.ffm.nicsetup.DevmemNicSetup;
import dev.devmem.ffm.DevmemDiagnostics;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code devmem doctor}: what this host, in this network namespace, can do for devmem, and why not.
 * Every verdict rests on a kernel answer that the report shows (docs/doctor.md).
 */
@Command(name = "doctor", mixinStandardHelpOptions = true,
        description = {"Report what this host and network namespace support for devmem TCP: kernel, netdev family "
                + "(bind-rx, bind-tx), privileges, dma-buf exporters, and per interface the driver, queues, header "
                + "split, ntuple, RSS, page pools, bindings and a devmem RX/TX verdict with its reason and fix.",
                "Verdicts come from harmless bind-rx/bind-tx probes (a memfd stands in for the dma-buf, so nothing "
                        + "is bound). Run it inside a namespace with: ip netns exec NS devmem doctor"})
public final class DoctorCommand implements Callable<Integer> {

    @Option(names = "--json", description = "Print the report as JSON (schema " + DoctorReport.SCHEMA + ", docs/doctor.md).")
    boolean json;

    @Option(names = "--iface", paramLabel = "NAME", description = "Only report this interface.")
    String iface;

    /** What a script can ask doctor to insist on. */
    enum Direction {
        rx, tx
    }

    @Option(names = "--require", paramLabel = "rx|tx", split = ",",
            description = "Exit 3 (after the report) unless a reported interface has a 'yes' verdict for each of these "
                    + "(with --iface: that interface). For scripts: devmem doctor --iface eth1 --require rx,tx")
    List<Direction> require = List.of();

    @Option(names = "--state-dir", paramLabel = "DIR", hidden = true,
            description = "Where NIC setups are recorded (default /run/devmem).")
    Path stateDir = DevmemNicSetup.DEFAULT_STATE_DIR;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        DoctorReport report = DoctorProbe.run(iface, stateDir);
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(report));
        } else {
            printText(report, out);
        }
        out.flush();
        List<String> unmet = unmet(report, require);
        if (!unmet.isEmpty()) {
            PrintWriter err = spec.commandLine().getErr();
            err.println("devmem doctor: " + String.join("; ", unmet));
            err.flush();
            return ExitCodes.UNSUPPORTED;
        }
        return ExitCodes.OK;
    }

    /**
     * One line per required direction that no reported interface can do, naming each interface's
     * reason; empty when every requirement is met.
     */
    static List<String> unmet(DoctorReport report, List<Direction> required) {
        List<String> unmet = new ArrayList<>();
        for (Direction d : required.stream().distinct().toList()) {
            List<String> reasons = new ArrayList<>();
            boolean met = false;
            for (Iface i : report.interfaces()) {
                Verdict v = d == Direction.rx ? i.rx() : i.tx();
                if ("yes".equals(v.verdict())) {
                    met = true;
                    break;
                }
                reasons.add(i.name() + ": " + v.reason());
            }
            if (!met) {
                unmet.add("devmem " + d.name().toUpperCase(Locale.ROOT) + " is not possible here ("
                        + (reasons.isEmpty() ? "no interface reported" : String.join(", ", reasons)) + ")");
            }
        }
        return unmet;
    }

    static void printText(DoctorReport r, PrintWriter out) {
        out.printf("devmem doctor: kernel %s, network namespace %s%n", r.kernel(), netnsLabel(r));
        out.printf("  %-16s %s%n", "CAP_NET_ADMIN", r.capNetAdmin() ? "yes" : "no (bind-rx needs it: run as root or grant CAP_NET_ADMIN)");
        var nd = r.netdevFamily();
        out.printf("  %-16s %s%n", "netdev family", nd.present()
                ? "yes (id " + nd.id() + "): bind-rx (op 13) " + yesNo(nd.bindRx()) + ", bind-tx (op 15) " + yesNo(nd.bindTx())
                : "no: " + nd.error());
        var et = r.ethtoolFamily();
        out.printf("  %-16s %s%n", "ethtool family", et.present()
                ? "yes (id " + et.id() + "), RSS over netlink " + yesNo(et.rssSet()) : "no: " + et.error());
        out.printf("  %-16s %s%n", "devmem sockets", r.devmemSocketOptions());
        out.printf("  %-16s %s%n", "udmabuf", (r.dmabufExporters().udmabuf().available() ? "yes: " : "no: ")
                + r.dmabufExporters().udmabuf().detail());
        out.printf("  %-16s %s%n", "dma-heaps", r.dmabufExporters().dmaHeaps().isEmpty() ? "none (/dev/dma_heap is empty or missing)"
                : String.join(", ", r.dmabufExporters().dmaHeaps()));
        out.printf("  %-16s %s%n", "CUDA", (r.dmabufExporters().cuda().available() ? "yes: " : "no: ")
                + r.dmabufExporters().cuda().detail());
        out.printf("  %-16s %d%n", "page pools", r.pagePools());
        if (r.nicSetupState().isEmpty()) {
            out.printf("  %-16s %s%n", "NIC setups", "none recorded");
        }
        for (NicSetupState s : r.nicSetupState()) {
            out.printf("  %-16s %s by pid %d (%s): %s%n", "NIC setup", s.ifname(), s.pid(),
                    s.ownerAlive() ? "running" : "DEAD: run devmem nic-cleanup", String.join("; ", s.changes()));
        }
        out.println();

        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"IFACE", "IFINDEX", "DRIVER", "RXQ", "TXQ", "HEADER-SPLIT", "HDS", "NTUPLE", "RSS",
                "POOLS", "BOUND", "RX", "TX"});
        for (Iface i : r.interfaces()) {
            rows.add(new String[] {i.name(), Integer.toString(i.ifindex()), dash(i.driver().name()),
                    Integer.toString(i.queues().rx()), Integer.toString(i.queues().tx()),
                    i.headerSplit().supported() ? i.headerSplit().tcpDataSplit() : "unsupported",
                    i.headerSplit().hdsThresh() == null ? "-" : i.headerSplit().hdsThresh().toString(),
                    i.ntuple().active() == null ? "?" : (i.ntuple().active() ? "on" : "off") + (Boolean.TRUE.equals(i.ntuple().fixed()) ? " [fixed]" : ""),
                    i.rss().supported() ? i.rss().indirection().size() + " slots over " + i.rss().indirection().stream().distinct().sorted().toList() : "unsupported",
                    Integer.toString(i.pagePools().size()),
                    i.bindings().isEmpty() ? "-" : i.bindings().stream().map(b -> b.type() + b.queue() + ":" + b.dmabuf()).toList().toString(),
                    i.rx().verdict(), i.tx().verdict()});
        }
        int[] w = new int[rows.getFirst().length];
        for (String[] row : rows) {
            for (int c = 0; c < row.length; c++) {
                w[c] = Math.max(w[c], row[c].length());
            }
        }
        for (String[] row : rows) {
            StringBuilder sb = new StringBuilder();
            for (int c = 0; c < row.length; c++) {
                sb.append(c == row.length - 1 ? row[c] : String.format("%-" + (w[c] + 2) + "s", row[c]));
            }
            out.println(sb.toString().stripTrailing());
        }
        for (Iface i : r.interfaces()) {
            out.println();
            out.printf("%s (ifindex %d)%n", i.name(), i.ifindex());
            verdict(out, "RX", i.rx());
            verdict(out, "TX", i.tx());
            if (!i.headerSplit().supported() && i.headerSplit().evidence() != null) {
                out.printf("  header split: %s%n", i.headerSplit().evidence());
            }
            if (!i.rss().supported() && i.rss().evidence() != null) {
                out.printf("  rss: %s%n", i.rss().evidence());
            }
            if (i.driver().error() != null) {
                out.printf("  driver: %s%n", i.driver().error());
            }
            for (String n : i.notes()) {
                out.printf("  note: %s%n", n);
            }
        }
    }

    private static void verdict(PrintWriter out, String what, Verdict v) {
        out.printf("  %s %s: %s%n", what, v.verdict(), v.reason());
        if (v.fix() != null) {
            out.printf("     fix: %s%n", v.fix());
        }
        out.printf("     kernel: %s%n", v.evidence());
    }

    private static String netnsLabel(DoctorReport r) {
        var n = r.netns();
        String id = "net:[" + n.inode() + "]";
        if (n.name() != null) {
            return n.name() + " (" + id + ")";
        }
        return Boolean.TRUE.equals(n.initial()) ? "initial (" + id + ")" : "unnamed " + id;
    }

    private static String yesNo(boolean b) {
        return b ? "yes" : "no";
    }

    private static String dash(String s) {
        return s == null || s.isEmpty() ? "-" : s;
    }

    /** The library's own devmem RX probe (SO_DEVMEM_DONTNEED on a fresh TCP socket), in a few words. */
    static String probeDevmemSocketOptions() {
        var answer = DevmemDiagnostics.devmemRx();
        return (answer.available() ? "yes (" : "no (") + answer.reason() + ")";
    }
}
