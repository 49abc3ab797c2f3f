package dev.devmem.ffm.testing;

import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The host's own tools (ethtool, ip) as references for what the kernel answers. A test that compares
 * with a tool the host lacks is skipped with the reason printed, never passed silently.
 */
public final class HostTools {
    private HostTools() {
    }

    /** A finished command: exit code, stdout, stderr. */
    public record Result(int exitCode, String out, String err) {
        public boolean ok() {
            return exitCode == 0;
        }

        /** stdout, or a failure naming the command's stderr. */
        public String outOrThrow() {
            if (exitCode != 0) {
                throw new IllegalStateException("exit " + exitCode + ": " + err.strip());
            }
            return out;
        }
    }

    /** Skips the test (printing why) unless {@code command} is on the PATH or in an sbin directory. */
    public static void assumeOnPath(String command) {
        boolean there = onPath(command);
        if (!there) {
            System.out.println("SKIPPED (HostTools): " + command + " is not installed (bin/setup-host installs it)");
        }
        Assumptions.assumeTrue(there, command + " is not installed");
    }

    public static boolean onPath(String command) {
        String path = System.getenv().getOrDefault("PATH", "") + ":/usr/sbin:/sbin:/usr/bin:/bin";
        for (String dir : path.split(":")) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, command))) {
                return true;
            }
        }
        return false;
    }

    /** Runs a command to completion, whatever its exit code. */
    public static Result run(List<String> command) {
        try {
            Process p = new ProcessBuilder(command).start();
            p.getOutputStream().close();
            CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> TestNetns.readAll(p.getErrorStream()));
            String out = TestNetns.readAll(p.getInputStream());
            int rc = p.waitFor();
            return new Result(rc, out, err.join());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Runs {@code command} inside {@code ns} ({@code ip netns exec}), whatever its exit code. */
    public static Result runIn(TestNetns ns, String... command) {
        return run(ns.execCommand(command));
    }
}
