package dev.devmem.cli;

import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** A real netcat (netcat-openbsd, as bin/setup-host installs) fed by the kernel doc's shell pipeline. */
final class Netcat {
    private Netcat() {
    }

    /**
     * The kernel devmem documentation's netcat example, exactly (only the size and address are ours):
     * {@code yes $(echo -e \\x01\\x02\\x03\\x04\\x05\\x06) | tr \\n \\0 | head -c SIZE | nc HOST PORT}.
     * Without {@code tr} the terminator stays {@code yes}'s newline, which ncdevmem validates.
     */
    static String pipeline(boolean tr, String size, int port) {
        return "yes $(echo -e \\\\x01\\\\x02\\\\x03\\\\x04\\\\x05\\\\x06)" + (tr ? " | tr \\\\n \\\\0" : "")
                + " | head -c " + size + " | nc " + closeFlag() + " 127.0.0.1 " + port;
    }

    /**
     * {@code nc} listening for one connection on 127.0.0.1:{@code port}, its stdout the received bytes:
     * netcat-openbsd takes the address and port as arguments, netcat-traditional as {@code -s} and {@code -p}.
     */
    static String listen(int port) {
        return closeFlag().equals("-N") ? "nc -l 127.0.0.1 " + port : "nc -l -s 127.0.0.1 -p " + port;
    }

    /** Skips the test (saying why) without bash or nc. */
    static void assume() {
        String why = null;
        if (!onPath("bash")) {
            why = "bash is missing";
        } else if (!onPath("nc")) {
            why = "nc is missing (bin/setup-host installs netcat-openbsd)";
        }
        if (why != null) {
            System.out.println("SKIPPED (netcat): " + why);
        }
        Assumptions.assumeTrue(why == null, why);
    }

    /** netcat-openbsd closes its socket at end of input with -N; netcat-traditional with -q 0. */
    private static String closeFlag() {
        try {
            Process p = new ProcessBuilder("nc", "-h").redirectErrorStream(true).start();
            String help = new String(p.getInputStream().readAllBytes());
            p.waitFor(10, TimeUnit.SECONDS);
            return help.contains("-N") ? "-N" : "-q 0";
        } catch (IOException e) {
            return "-N";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "-N";
        }
    }

    /** Runs {@code bash -c command} and returns its exit code (after at most the hang guard). */
    static int run(String command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(List.of("bash", "-c", command)).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        if (!p.waitFor(Cli.TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("still running after " + Cli.TIMEOUT + ": " + command);
        }
        return p.exitValue();
    }

    static boolean onPath(String command) {
        for (String dir : (System.getenv().getOrDefault("PATH", "") + ":/usr/bin:/bin").split(":")) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, command))) {
                return true;
            }
        }
        return false;
    }
}
