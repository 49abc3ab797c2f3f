package dev.devmem.cli;

import dev.devmem.api.DevmemUnsupportedException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code devmem send}: the other side of a test. Sends the netcat pattern over plain TCP from host
 * memory, what the kernel documentation's {@code yes | tr | head | nc} pipeline sends.
 */
@Command(name = "send", mixinStandardHelpOptions = true,
        description = {
                "Send the netcat pattern (1..N-1 then a terminator, repeating) over TCP, for devmem recv or ncdevmem.",
                "Sends from host memory (plain TCP); devmem TX from a dmabuf comes with the devmem TX sender.",
                ""},
        footerHeading = "%nExamples:%n",
        footer = {
                "  # what the kernel doc's nc pipeline sends (for devmem recv --validate 7):",
                "  devmem send --connect 127.0.0.1:5201 --bytes 1G",
                "  # for ncdevmem -v 7 (newline terminator):",
                "  devmem send --connect 192.168.1.4:5201 --bytes 1G --terminator 10",
                "",
                "Exit codes: 0 ok, 2 bad command line, 3 unsupported here, 4 connect or",
                "write failed, 70 bug (rerun with --verbose)."})
public final class SendCommand implements Callable<Integer> {

    @Option(names = "--connect", required = true, paramLabel = "HOST:PORT", converter = HostPort.ConnectConverter.class,
            description = "The receiver: 127.0.0.1:5201, [::1]:5201.")
    InetSocketAddress connect;

    @Option(names = "--pattern", paramLabel = "N", defaultValue = "7",
            description = "The period: bytes 1..N-1 then the terminator (default ${DEFAULT-VALUE}, the kernel doc's).")
    int pattern;

    @Option(names = "--terminator", paramLabel = "0|10", defaultValue = "0",
            description = "The pattern's last byte: 0 (the doc's tr \\\\n \\\\0, default) or 10 (newline, for ncdevmem -v N).")
    String terminator;

    @Option(names = "--bytes", paramLabel = "SIZE", converter = Sizes.Converter.class, defaultValue = "1G",
            description = "How much to send (K, M, G, T suffixes: powers of 1024; default ${DEFAULT-VALUE}).")
    long bytes;

    @Option(names = "--dmabuf", paramLabel = "SOURCE", converter = DmabufChoice.Converter.class, defaultValue = "none",
            description = "Where the payload comes from: none (host memory, default). udmabuf, dma-heap, cuda need the "
                    + "devmem TX sender, not in this build yet.")
    DmabufChoice dmabuf;

    @Option(names = "--corrupt-at", paramLabel = "OFFSET", converter = Sizes.OffsetConverter.class,
            description = "Flip the byte at this stream offset, to see a receiver's validation catch it.")
    Long corruptAt;

    @Option(names = "--progress", paramLabel = "auto|always|never", converter = ReceiveTarget.ProgressConverter.class,
            defaultValue = "auto", description = "The live progress line on stderr (default ${DEFAULT-VALUE}: on a terminal).")
    ReceiveTarget.ProgressMode progress;

    @Option(names = "--json", description = "Print the summary as JSON (schema: docs/cli.md).")
    boolean json;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        CommandLine cl = spec.commandLine();
        if (dmabuf.kind() != DmabufChoice.Kind.NONE) {
            throw new DevmemUnsupportedException("devmem TX", null, "devmem TX sender not available yet: --dmabuf "
                    + dmabuf + " sends from device memory, which needs the devmem TX sender; use --dmabuf none "
                    + "(host memory) meanwhile");
        }
        if (pattern < 2 || pattern > 256) {
            throw new CommandLine.ParameterException(cl, "--pattern " + pattern
                    + ": N must be in [2, 256] (the bytes 1..N-1 then a terminator)");
        }
        int term = switch (terminator.trim().toLowerCase(Locale.ROOT)) {
            case "0", "0x0", "0x00" -> 0;
            case "10", "0xa", "0x0a", "nl", "newline" -> 0x0A;
            default -> throw new CommandLine.ParameterException(cl, "--terminator '" + terminator + "': use 0 or 10");
        };
        if (corruptAt != null && corruptAt >= bytes) {
            throw new CommandLine.ParameterException(cl, "--corrupt-at " + corruptAt + " is past the end of the "
                    + bytes + " bytes sent");
        }
        PrintWriter out = cl.getOut();
        PrintWriter err = cl.getErr();
        PatternSender sender = new PatternSender(pattern, term, corruptAt == null ? -1 : corruptAt);
        boolean drawProgress = switch (progress) {
            case ALWAYS -> true;
            case NEVER -> false;
            case AUTO -> Progress.isTerminal();
        };
        PatternSender.Result r;
        long start = System.nanoTime();
        Progress drawing = Progress.start(drawProgress, err, new SendProgress(sender, bytes, start));
        try {
            r = sender.send(connect, bytes);
        } finally {
            drawing.close();
        }
        if (json) {
            out.println(Reports.json(Reports.sendJson(r)));
            out.flush();
        } else {
            Reports.printSend(out, r);
        }
        return ExitCodes.OK;
    }

    /** Sent bytes of the total and the rate since the last redraw. */
    private static final class SendProgress implements java.util.function.Supplier<String> {
        private final PatternSender sender;
        private final long total;
        private long lastBytes;
        private long lastNanos;

        SendProgress(PatternSender sender, long total, long start) {
            this.sender = sender;
            this.total = total;
            this.lastNanos = start;
        }

        @Override
        public String get() {
            long now = System.nanoTime();
            long sent = sender.sent();
            double rate = now > lastNanos ? (sent - lastBytes) / ((now - lastNanos) / 1e9) : 0;
            lastBytes = sent;
            lastNanos = now;
            return String.format(Locale.ROOT, "%12s  %10s of %s sent", Sizes.bitRate(rate), Sizes.human(sent),
                    Sizes.human(total));
        }
    }
}
