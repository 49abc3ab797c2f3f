package dev.devmem.benchmarks.peers;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Aggregate throughput and CPU with 1, 2, 4, 8, 16 concurrent flows through one {@code listen()},
 * on one and on two I/O loops, for the Linux backend and the emulated NIC: a {@link ScalingReceiver}
 * process fed by as many C senders as flows, each sending its share of BYTES. Prints a markdown
 * table. Usage: {@code ScalingBench TOOLS_DIR REPO BYTES ROUNDS}.
 */
public final class ScalingBench {
    private ScalingBench() {
    }

    public static void main(String[] args) throws Exception {
        Tools tools = new Tools(Path.of(args[0]), Path.of(ProcessHandle.current().info().command().orElseThrow()),
                Path.of(ScalingBench.class.getProtectionDomain().getCodeSource().getLocation().toURI()), Path.of(args[1]));
        long bytes = Long.parseLong(args[2]);
        int rounds = Integer.parseInt(args[3]);
        Path work = Files.createTempDirectory("scaling");
        System.out.println("| backend | I/O loops | flows | aggregate GiB/s (median) | CPU s/GiB net of start-up (median) |"
                + " per-round GiB/s |");
        System.out.println("|---|---|---|---|---|---|");
        for (String backend : new String[] {"linux", "emulated"}) {
            for (int loops : new int[] {1, 2}) {
                for (int flows : new int[] {1, 2, 4, 8, 16}) {
                    java.util.List<Double> rate = new java.util.ArrayList<>();
                    java.util.List<Double> cpu = new java.util.ArrayList<>();
                    for (int r = 0; r < rounds; r++) {
                        int port = ProcessRun.freePort();
                        ProcessRun.Result res = ProcessRun.run(tools, tools.javaMain(ScalingReceiver.class.getName(),
                                backend, Integer.toString(loops), Integer.toString(flows), Integer.toString(port)),
                                port, bytes, flows, work);
                        rate.add(res.gibPerSecond());
                        cpu.add(res.netCpuPerGib());
                        System.err.printf(Locale.ROOT, "scaling %s loops %d flows %d: %.2f GiB/s, %.2f CPU s/GiB%n",
                                backend, loops, flows, res.gibPerSecond(), res.netCpuPerGib());
                    }
                    System.out.printf(Locale.ROOT, "| %s | %d | %d | %.2f | %.2f | %s |%n", backend, loops, flows,
                            Stats.median(rate), Stats.median(cpu), Stats.list(rate, "%.2f"));
                }
            }
        }
    }
}
