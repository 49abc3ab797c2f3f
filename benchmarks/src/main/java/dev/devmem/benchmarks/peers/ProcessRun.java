package dev.devmem.benchmarks.peers;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One receiver process fed by the C sender, measured from outside:
 * <ol>
 *   <li>the receiver starts under {@code cpu_run}, which reports its pid and, at exit, its rusage;</li>
 *   <li>once {@code /proc/net/tcp} shows the port listening, the receiver's CPU so far (utime +
 *       stime + cutime + cstime of {@code /proc/PID/stat}) is its start-up CPU: nothing has been
 *       sent yet;</li>
 *   <li>{@code flows} senders then write {@code bytes} in all and wait until the receiver closed;</li>
 *   <li>the receiver's exit gives its whole-process CPU and its count of bytes, which must match.</li>
 * </ol>
 */
final class ProcessRun {
    private static final long CLOCK_TICKS = 100; // USER_HZ on Linux
    private static final long TIMEOUT_SECONDS = 300;

    /** What one run measured. {@code seconds}: first connect to the last receiver close. */
    record Result(long bytes, double seconds, double startupCpu, double totalCpu) {
        double gibPerSecond() {
            return bytes / seconds / (1L << 30);
        }

        double cpuPerGib() {
            return totalCpu / (bytes / (double) (1L << 30));
        }

        double netCpuPerGib() {
            return (totalCpu - startupCpu) / (bytes / (double) (1L << 30));
        }
    }

    private ProcessRun() {
    }

    private static final java.util.Random PORTS = new java.util.Random();

    /**
     * A free loopback port below the ephemeral range (32768 and up), so that no connection made
     * meanwhile, ours or another process's, can take it before the receiver binds it.
     */
    static int freePort() throws IOException {
        for (int i = 0; i < 1000; i++) {
            int port = 20000 + PORTS.nextInt(12000);
            try (ServerSocket s = new ServerSocket()) {
                s.bind(new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), port), 1);
                return port;
            } catch (java.net.BindException e) {
                // taken: try another
            }
        }
        throw new IOException("no free port in [20000, 32000)");
    }

    /**
     * Runs {@code receiver} (which must listen on 127.0.0.1:{@code port}) against {@code flows}
     * concurrent senders of {@code bytes / flows} bytes each.
     */
    static Result run(Tools tools, List<String> receiver, int port, long bytes, int flows, Path work)
            throws IOException, InterruptedException {
        Files.createDirectories(work);
        Path cpuFile = work.resolve("cpu.txt");
        Path out = work.resolve("receiver.out");
        Path err = work.resolve("receiver.err");
        Files.deleteIfExists(cpuFile);
        List<String> cmd = new ArrayList<>();
        cmd.add(tools.cpuRun().toString());
        cmd.add(cpuFile.toString());
        cmd.addAll(receiver);
        Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        try {
            long pid = awaitPid(cpuFile, p);
            awaitListening(port, p, err);
            double startup = cpuSeconds(pid);
            long start = System.nanoTime();
            List<Process> senders = new ArrayList<>();
            long each = bytes / flows;
            for (int i = 0; i < flows; i++) {
                long n = i == flows - 1 ? bytes - each * (flows - 1) : each;
                senders.add(new ProcessBuilder(tools.sender().toString(), Integer.toString(port), Long.toString(n))
                        .redirectErrorStream(true).start());
            }
            for (Process s : senders) {
                String line = new String(s.getInputStream().readAllBytes()).trim();
                if (!s.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS) || s.exitValue() != 0) {
                    throw new IOException("sender failed: " + line + "; receiver said: " + tail(err));
                }
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                throw new IOException("receiver did not exit: " + receiver);
            }
            String[] cpu = Files.readAllLines(cpuFile).stream().filter(l -> l.startsWith("cpu "))
                    .findFirst().orElseThrow(() -> new IOException("no rusage from cpu_run")).split(" ");
            if (!cpu[3].equals("0")) {
                throw new IOException("receiver exited with " + cpu[3] + ": " + tail(err));
            }
            long received = receivedBytes(Files.readString(out));
            if (received != bytes) {
                throw new IOException("receiver counted " + received + " bytes, the senders wrote " + bytes);
            }
            double total = (Long.parseLong(cpu[1]) + Long.parseLong(cpu[2])) / 1e6;
            return new Result(bytes, seconds, startup, total);
        } finally {
            p.destroyForcibly();
        }
    }

    /** The receiver's byte count: a line that is a number, or {@code devmem recv}'s "(N bytes)". */
    static long receivedBytes(String stdout) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\((\\d+) bytes\\)").matcher(stdout);
        if (m.find()) {
            return Long.parseLong(m.group(1));
        }
        long sum = 0;
        for (String line : stdout.strip().split("\n")) {
            if (line.strip().matches("\\d+")) {
                sum += Long.parseLong(line.strip());
            }
        }
        return sum;
    }

    private static long awaitPid(Path cpuFile, Process p) throws IOException, InterruptedException {
        for (int i = 0; i < 10_000; i++) {
            if (Files.exists(cpuFile)) {
                for (String l : Files.readAllLines(cpuFile)) {
                    if (l.startsWith("pid ")) {
                        return Long.parseLong(l.substring(4).trim());
                    }
                }
            }
            if (!p.isAlive()) {
                throw new IOException("cpu_run exited at once");
            }
            Thread.sleep(1);
        }
        throw new IOException("cpu_run gave no pid");
    }

    /** Polls /proc/net/tcp (and tcp6) until the port is in LISTEN state (0A). */
    static void awaitListening(int port, Process p, Path err) throws IOException, InterruptedException {
        String hexPort = String.format(":%04X ", port);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (System.nanoTime() < deadline) {
            for (String table : new String[] {"/proc/net/tcp", "/proc/net/tcp6"}) {
                for (String line : Files.readAllLines(Path.of(table))) {
                    String[] f = line.trim().split("\\s+");
                    if (f.length > 3 && (f[1] + " ").endsWith(hexPort) && f[3].equals("0A")) {
                        return;
                    }
                }
            }
            if (!p.isAlive()) {
                throw new IOException("receiver exited before listening: " + tail(err));
            }
            Thread.sleep(2);
        }
        throw new IOException("receiver not listening on " + port + " after 120 s: " + tail(err));
    }

    /**
     * utime + stime of a live process and of the children it has waited for (cutime + cstime), in
     * seconds: the same account as the wait4 rusage the whole-process CPU comes from. A launcher script
     * that runs helpers before it execs the JVM ({@code bin/devmem} finding a JDK) has their CPU in
     * its children's fields; without them it would count as transfer, not start-up.
     */
    static double cpuSeconds(long pid) throws IOException {
        String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        // after "pid (comm) ": field 3 is state = f[0]; utime is field 14 = f[11], stime f[12],
        // cutime f[13], cstime f[14]
        return (Long.parseLong(f[11]) + Long.parseLong(f[12]) + Long.parseLong(f[13]) + Long.parseLong(f[14]))
                / (double) CLOCK_TICKS;
    }

    static String tail(Path file) {
        try {
            List<String> lines = Files.readAllLines(file);
            return String.join(" | ", lines.subList(Math.max(0, lines.size() - 5), lines.size()));
        } catch (IOException e) {
            return "(" + e.getMessage() + ")";
        }
    }
}
