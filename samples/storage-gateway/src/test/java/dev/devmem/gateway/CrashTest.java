package dev.devmem.gateway;

import dev.devmem.gateway.store.Manifest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A gateway process killed with SIGKILL in the middle of an object leaves its partial data file but
 * no manifest, so nothing is visible; the restarted gateway removes the leftover, lists nothing, and
 * stores the next flow whole.
 */
class CrashTest {
    @TempDir
    Path dir;

    @Test
    void sigkillMidObjectLeavesNoVisibleObjectAndTheNextUploadWorks() throws Exception {
        String partialName;
        try (GatewayProcess g = new GatewayProcess(dir, "--fsync", "group")) {
            PatternSender sender = new PatternSender(7);
            try (SocketChannel ch = SocketChannel.open(g.flows)) {
                sender.sendOn(ch, 16L << 20); // most of an object: the sender never ends it
                Path partial = waitForDataFile(8L << 20);
                partialName = partial.getFileName().toString();
                g.kill();
            }
            assertThat(g.process.exitValue()).isEqualTo(137); // 128 + SIGKILL
        }
        List<String> left = listing();
        assertThat(left).as("the crash left the partial data, and no manifest").containsExactly(partialName);

        try (GatewayProcess g = new GatewayProcess(dir)) {
            assertThat(listing()).as("the restart removed the leftover").isEmpty();
            HttpReader http = new HttpReader(g.http);
            assertThat(http.getString("/objects")).isEqualTo("[ ]");
            String key = partialName.substring(0, partialName.length() - ".data".length());
            assertThat(http.get("/objects/" + key, null).statusCode()).isEqualTo(404);

            long size = (5L << 20) + 3;
            new PatternSender(13).send(g.flows, size);
            String stored = null;
            for (String l; stored == null && (l = g.lines.poll(60, java.util.concurrent.TimeUnit.SECONDS)) != null; ) {
                if (l.startsWith("gateway: stored ")) {
                    stored = l.split(" ")[2];
                }
            }
            assertThat(stored).as("the restarted gateway stored the next flow").isNotNull();
            Manifest m = Manifest.fromJson(http.get("/objects/" + stored + "/manifest", null).body());
            assertThat(m.size()).isEqualTo(size);
            assertThat(m.crc32c()).isEqualTo(Manifest.hex(PatternSender.crc32c(13, size)));
            HttpResponse<byte[]> body = http.get("/objects/" + stored, null);
            assertThat(body.body()).hasSize((int) size);
            assertThat(PatternSender.mismatch(body.body(), 0, 13)).isEqualTo(-1);
            assertThat(HttpReader.crc32c(body.body())).isEqualTo(m.crc32c());
        }
    }

    private Path waitForDataFile(long atLeast) throws Exception {
        for (int i = 0; i < 1200; i++) {
            try (Stream<Path> s = Files.list(dir)) {
                for (Path p : s.toList()) {
                    if (p.getFileName().toString().endsWith(".data") && Files.size(p) >= atLeast) {
                        return p;
                    }
                }
            }
            Thread.sleep(25);
        }
        throw new AssertionError("no data file of " + atLeast + " bytes appeared in " + dir + ": " + listing());
    }

    private List<String> listing() throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
