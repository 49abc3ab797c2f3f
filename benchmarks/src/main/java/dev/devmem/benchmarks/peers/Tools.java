package dev.devmem.benchmarks.peers;

import java.nio.file.Path;
import java.util.List;

/**
 * Where the harness finds its programs: the C tools bin/bench compiled with gcc (sender, C receiver,
 * the rusage wrapper), the java that runs the Java contenders, the benchmark jar, and the repository
 * (for {@code bin/devmem}).
 */
record Tools(Path dir, Path java, Path jar, Path repo) {
    /** JVM options every Java contender gets, the same for all: Netty needs Unsafe, FFM needs native access. */
    static final List<String> JVM_OPTIONS = List.of("-XX:+UseParallelGC", "--enable-native-access=ALL-UNNAMED",
            "--sun-misc-unsafe-memory-access=allow");

    Path sender() {
        return dir.resolve("peer_send");
    }

    Path cReceiver() {
        return dir.resolve("peer_recv");
    }

    Path cpuRun() {
        return dir.resolve("cpu_run");
    }

    Path devmem() {
        return repo.resolve("bin/devmem");
    }

    /** A Java main of the benchmark jar in a JVM of its own. */
    List<String> javaMain(String mainClass, String... args) {
        List<String> cmd = new java.util.ArrayList<>();
        cmd.add(java.toString());
        cmd.addAll(JVM_OPTIONS);
        cmd.add("-cp");
        cmd.add(jar.toString());
        cmd.add(mainClass);
        cmd.addAll(List.of(args));
        return cmd;
    }
}
