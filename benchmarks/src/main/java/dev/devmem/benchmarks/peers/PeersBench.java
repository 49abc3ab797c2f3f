package dev.devmem.benchmarks.peers;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The peers table: every {@link Contender} receives the same C sender's stream, one after another in
 * each round, the order rotated from round to round so that no contender always follows the same
 * one; each round's throughput is divided by the C loop's of the same round. Prints the markdown
 * table to stdout and every run to stderr as it ends.
 *
 * <p>Usage: {@code PeersBench TOOLS_DIR REPO ROUNDS BYTES [CONTENDER...]}
 */
public final class PeersBench {
    private PeersBench() {
    }

    public static void main(String[] args) throws Exception {
        Tools tools = new Tools(Path.of(args[0]), Path.of(ProcessHandle.current().info().command().orElseThrow()),
                Path.of(PeersBench.class.getProtectionDomain().getCodeSource().getLocation().toURI()), Path.of(args[1]));
        int rounds = Integer.parseInt(args[2]);
        long bytes = Long.parseLong(args[3]);
        List<Contender> contenders = new ArrayList<>(Contender.all());
        if (args.length > 4) {
            List<String> keep = List.of(args).subList(4, args.length);
            contenders.removeIf(c -> !c.key().equals("c") && !keep.contains(c.key()));
        }
        Map<String, List<ProcessRun.Result>> results = new LinkedHashMap<>();
        Map<String, List<Double>> ratios = new LinkedHashMap<>();
        for (Contender c : contenders) {
            results.put(c.key(), new ArrayList<>());
            ratios.put(c.key(), new ArrayList<>());
        }
        Path work = Files.createTempDirectory("peers");
        for (int round = 0; round < rounds; round++) {
            List<Contender> order = new ArrayList<>(contenders);
            Collections.rotate(order, -round);
            Map<String, ProcessRun.Result> thisRound = new LinkedHashMap<>();
            for (Contender c : order) {
                int port = ProcessRun.freePort();
                ProcessRun.Result r = ProcessRun.run(tools, c.command().at(tools, port), port, bytes, 1,
                        work.resolve(c.key()));
                thisRound.put(c.key(), r);
                results.get(c.key()).add(r);
                System.err.printf(java.util.Locale.ROOT, "round %d %-22s %6.2f GiB/s  cpu %5.2f s (start-up %4.2f s)%n",
                        round + 1, c.key(), r.gibPerSecond(), r.totalCpu(), r.startupCpu());
            }
            double cRate = thisRound.get("c").gibPerSecond();
            for (Contender c : contenders) {
                ratios.get(c.key()).add(thisRound.get(c.key()).gibPerSecond() / cRate);
            }
        }
        print(System.out, contenders, results, ratios, rounds, bytes);
    }

    static void print(PrintStream out, List<Contender> contenders, Map<String, List<ProcessRun.Result>> results,
                      Map<String, List<Double>> ratios, int rounds, long bytes) {
        // --quick sends 256 MiB: "0 GiB" would misread it
        String size = bytes >= 1L << 30 ? (bytes >> 30) + " GiB" : (bytes >> 20) + " MiB";
        out.printf("%d rounds, %s per run (%d bytes), one C sender per run; ratios are against the C loop of the "
                + "same round.%n%n", rounds, size, bytes);
        out.println("| receiver | median ratio vs C | min | max | median GiB/s | CPU s/GiB, whole process | "
                + "CPU s/GiB net of start-up | start-up CPU s (before the first byte) |");
        out.println("|---|---|---|---|---|---|---|---|");
        for (Contender c : contenders) {
            List<ProcessRun.Result> rs = results.get(c.key());
            List<Double> q = ratios.get(c.key());
            out.printf("| %s | **%s** | %s | %s | %s | %s | %s | %s |%n", c.label(),
                    Stats.f("%.2f", Stats.median(q)), Stats.f("%.2f", Stats.min(q)), Stats.f("%.2f", Stats.max(q)),
                    Stats.f("%.2f", Stats.median(rs.stream().map(ProcessRun.Result::gibPerSecond).toList())),
                    Stats.f("%.2f", Stats.median(rs.stream().map(ProcessRun.Result::cpuPerGib).toList())),
                    Stats.f("%.2f", Stats.median(rs.stream().map(ProcessRun.Result::netCpuPerGib).toList())),
                    Stats.f("%.2f", Stats.median(rs.stream().map(ProcessRun.Result::startupCpu).toList())));
        }
        out.println();
        out.println("Per-round ratios vs C, in round order:");
        out.println();
        for (Contender c : contenders) {
            out.printf("- %s: %s%n", c.key(), Stats.list(ratios.get(c.key()), "%.2f"));
        }
    }
}
