package dev.devmem.gateway;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The gateway's {@link Main} as a real child JVM (the test's own class path), so a test can SIGKILL
 * it. Its stdout lines are collected; the first line gives the ports.
 */
final class GatewayProcess implements AutoCloseable {
    private static final Pattern READY = Pattern.compile(
            "storage-gateway: flows ([0-9.]+):(\\d+) http ([0-9.]+):(\\d+) store (.*)");

    final Process process;
    final LinkedBlockingQueue<String> lines = new LinkedBlockingQueue<>();
    final InetSocketAddress flows;
    final InetSocketAddress http;
    final String store;

    GatewayProcess(Path dir, String... extra) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(
                ProcessHandle.current().info().command().orElse("java"),
                "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"),
                Main.class.getName(),
                "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--dir", dir.toString()));
        cmd.addAll(List.of(extra));
        process = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        Thread.ofPlatform().daemon().start(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream()))) {
                for (String l; (l = r.readLine()) != null; ) {
                    System.out.println("[child " + process.pid() + "] " + l);
                    lines.add(l);
                }
            } catch (IOException ignored) {
                // the child died
            }
        });
        Matcher m = null;
        for (String l; m == null && (l = lines.poll(60, TimeUnit.SECONDS)) != null; ) {
            Matcher x = READY.matcher(l);
            if (x.find()) {
                m = x;
            }
        }
        if (m == null) {
            process.destroyForcibly();
            throw new IllegalStateException("the gateway process did not start (alive " + process.isAlive() + ")");
        }
        flows = new InetSocketAddress(m.group(1), Integer.parseInt(m.group(2)));
        http = new InetSocketAddress(m.group(3), Integer.parseInt(m.group(4)));
        store = m.group(5);
    }

    /** SIGKILL: no shutdown hook, no cleanup, as a crash or an OOM kill. */
    void kill() throws InterruptedException {
        process.destroyForcibly(); // SIGKILL on Linux
        process.waitFor();
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            process.destroy(); // SIGTERM: the shutdown hook closes the gateway
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor();
            }
        }
    }
}
