package dev.devmem.ffm.bindd;

import org.junit.jupiter.api.Assumptions;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * Starts {@link BinderProbe} in a JVM run as {@code nobody} with no capability at all
 * ({@code setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all}).
 */
final class Unprivileged {
    static final int NOBODY = 65534;
    static final long CAP_NET_ADMIN_BIT = 1L << 12;

    private Unprivileged() {
    }

    static void assumeSetpriv() {
        if (!Files.isExecutable(Path.of("/usr/bin/setpriv")) && !Files.isExecutable(Path.of("/bin/setpriv"))) {
            String why = "setpriv (util-linux) is missing, cannot run a client as nobody";
            System.out.println("SKIPPED (bindd): " + why);
            Assumptions.abort(why);
        }
    }

    /** A directory nobody can enter, for the daemon's socket. */
    static Path sharedDirectory() throws IOException {
        Path dir = Files.createTempDirectory("bindd-");
        Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        return dir;
    }

    static Process start(String... args) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        // nobody cannot read the Maven repository under /root; the probe needs only this build's classes
        String cp = Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
                .filter(e -> !e.contains("/.m2/")).collect(Collectors.joining(File.pathSeparator));
        List<String> cmd = new ArrayList<>(List.of("setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                "--inh-caps=-all", "--", java, "-XX:-UsePerfData", "-Xshare:auto", "--enable-native-access=ALL-UNNAMED",
                "-cp", cp, BinderProbe.class.getName()));
        cmd.addAll(Arrays.asList(args));
        return new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    }

    /** Runs the probe to its end and returns its {@code key=value} lines. */
    static Map<String, String> run(String... args) throws IOException, InterruptedException {
        Process p = start(args);
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(5, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new AssertionError("probe hung; output so far:\n" + out);
        }
        if (p.exitValue() != 0) {
            throw new AssertionError("probe exited " + p.exitValue() + ":\n" + out);
        }
        return parse(out);
    }

    static Map<String, String> parse(String out) {
        Map<String, String> kv = new LinkedHashMap<>();
        for (String line : out.lines().toList()) {
            int eq = line.indexOf('=');
            if (eq > 0) {
                kv.put(line.substring(0, eq), line.substring(eq + 1));
            }
        }
        return kv;
    }
}
