package dev.devmem.cli;

import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

class ProgressTest {

    @Test
    void theLineNamesThroughputBytesFragsByKindTokensAndDontneed() {
        String line = ReceiveSession.ProgressLine.format(1.25e9, 3L << 30, 786_432, 512, 0, 640, 768);
        assertThat(line).contains("10.00 Gbit/s").contains("3.0 GiB").contains("dmabuf 786432").contains("linear 512")
                .contains("host 0").contains("outstanding 640").contains("DONTNEED 768");
    }

    @Test
    void redrawsInPlaceAndWipesItselfAtTheEnd() throws Exception {
        StringWriter w = new StringWriter();
        AtomicInteger draws = new AtomicInteger();
        Progress p = Progress.start(true, new PrintWriter(w), () -> draws.incrementAndGet() == 1 ? "a long first line" : "short");
        long deadline = System.nanoTime() + Cli.TIMEOUT.toNanos();
        while (draws.get() < 2 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        p.close();
        String s = w.toString();
        assertThat(s).startsWith("\ra long first line\rshort" + " ".repeat("a long first line".length() - 5));
        assertThat(s).endsWith("\r");
        assertThat(s).doesNotContain("\n");
    }

    @Test
    void offATerminalNothingIsDrawnAndNoThreadStarts() {
        StringWriter w = new StringWriter();
        Progress p = Progress.start(false, new PrintWriter(w), () -> "x");
        p.close();
        assertThat(w.toString()).isEmpty();
    }
}
