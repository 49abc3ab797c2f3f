package dev.devmem.benchmarks.peers;

import java.util.ArrayList;
import java.util.List;

/** One receiver of the peers table: its name there, and the command that runs it on a port. */
record Contender(String key, String label, Command command) {
    interface Command {
        List<String> at(Tools tools, int port);
    }

    /** Every contender, the C loop first (the others' ratios are against it). */
    static List<Contender> all() {
        List<Contender> all = new ArrayList<>();
        all.add(new Contender("c", "C recv() loop, 1 MiB buffer (the limit)",
                (t, port) -> List.of(t.cReceiver().toString(), Integer.toString(port))));
        for (String kind : List.of("nio", "reactor-netty", "netty", "devmem-frags", "devmem-batches", "emulated-frags")) {
            all.add(new Contender(kind, PeerReceiver.KINDS.get(kind),
                    (t, port) -> t.javaMain(PeerReceiver.class.getName(), kind, Integer.toString(port))));
        }
        all.add(new Contender("devmem-recv", "`bin/devmem recv` (Linux backend, host frags), a real process",
                (t, port) -> List.of(t.devmem().toString(), "recv", "--listen", "127.0.0.1:" + port)));
        all.add(new Contender("devmem-recv-emulated", "`bin/devmem recv --dmabuf emulated`, a real process",
                (t, port) -> List.of(t.devmem().toString(), "recv", "--listen", "127.0.0.1:" + port,
                        "--dmabuf", "emulated")));
        // Same-run before/after: -Dpeers.baseline.jar=OLD.jar adds the library's contenders built from another commit.
        String baseline = System.getProperty("peers.baseline.jar");
        if (baseline != null) {
            for (String kind : List.of("devmem-frags", "devmem-batches", "emulated-frags")) {
                all.add(new Contender(kind + "-before", PeerReceiver.KINDS.get(kind) + ", before (" + baseline + ")",
                        (t, port) -> new Tools(t.dir(), t.java(), java.nio.file.Path.of(baseline), t.repo())
                                .javaMain(PeerReceiver.class.getName(), kind, Integer.toString(port))));
            }
        }
        return all;
    }
}
