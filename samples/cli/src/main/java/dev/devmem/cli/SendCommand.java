package dev.devmem.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code devmem send}: the other side of a test. Sends the netcat pattern, what the kernel
 * documentation's {@code yes | tr | head | nc} pipeline sends: over plain TCP from host memory, or
 * with {@code --dmabuf} as devmem TX from a dmabuf through a {@link dev.devmem.reactor.DevmemSender}
 * (the emulated devmem NIC's TX with {@code --dmabuf emulated}, else the Linux backend's bind-tx on
 * {@code --iface}).
 */
@Command(name = "send", mixinStandardHelpOptions = true,
        description = {
                "Send the netcat pattern (1..N-1 then a terminator, repeating) over TCP, for devmem recv or ncdevmem.",
                "Without --dmabuf: plain TCP from host memory. With --dmabuf: devmem TX, the pattern written",
                "into slices of the dmabuf and sent with MSG_ZEROCOPY and the devmem cmsg, every completion",
                "counted (--dmabuf emulated: the emulated devmem NIC's TX over a real TCP connection).",
                ""},
        footerHeading = "%nExamples:%n",
        footer = {
                "  # what the kernel doc's nc pipeline sends (for devmem recv --validate 7):",
                "  devmem send --connect 127.0.0.1:5201 --bytes 1G",
                "  # for ncdevmem -v 7 (newline terminator):",
                "  devmem send --connect 192.168.1.4:5201 --bytes 1G --terminator 10",
                "  # devmem TX through the emulated devmem NIC, to any receiver (nc, devmem recv):",
                "  devmem send --connect 127.0.0.1:5201 --bytes 1G --dmabuf emulated",
                "  # devmem TX from a udmabuf through eth1 (a NIC with devmem TX: Linux 6.16+):",
                "  devmem send --connect 192.168.1.4:5201 --dmabuf udmabuf --iface eth1",
                "",
                "Exit codes: 0 ok, 2 bad command line, 3 unsupported here (the kernel's reason:",
                "e.g. bind-tx EOPNOTSUPP, no exporter), 4 connect, send or kernel error,",
                "70 bug (rerun with --verbose)."})
public final class SendCommand implements Callable<Integer> {
    static final long DEFAULT_DMABUF_SIZE = 64 * Sizes.MIB;
    static final long DEFAULT_SLICE = Sizes.MIB;

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

    @Option(names = "--dmabuf", paramLabel = "SOURCE", converter = DmabufChoice.Converter.class,
            description = "Where the payload comes from: none (host memory, plain TCP; the default), or devmem TX "
                    + "from emulated (the emulated devmem NIC), udmabuf, dma-heap[:HEAP], cuda[:DEVICE], fd:N "
                    + "(an inherited dmabuf fd). With --iface and no --dmabuf: udmabuf.")
    DmabufChoice dmabuf;

    @Option(names = "--iface", paramLabel = "NAME",
            description = "The interface the flow leaves through, which the dmabuf is bound to for TX (needed on "
                    + "Linux; emulated: the emulated NIC's name, default emu0).")
    String iface;

    @Option(names = "--dmabuf-size", paramLabel = "SIZE", converter = Sizes.Converter.class,
            description = "Devmem TX: the dmabuf to allocate (default 64M; udmabuf caps it at its size_limit_mb).")
    Long dmabufSize;

    @Option(names = "--slice", paramLabel = "SIZE", converter = Sizes.Converter.class,
            description = "Devmem TX: bytes per slice leased from the dmabuf, filled and sent (default 1M, at most "
                    + "the dmabuf size).")
    Long slice;

    @Option(names = "--max-in-flight", paramLabel = "SIZE", converter = Sizes.Converter.class,
            description = "Devmem TX: the most bytes sent and not yet completed (default: the sender's, 16M).")
    Long maxInFlight;

    @Option(names = "--copy-fallback",
            description = "Devmem TX: when the driver or kernel cannot do devmem TX (bind-tx EOPNOTSUPP) and the "
                    + "dmabuf is host-mappable, send its host view as host memory instead of failing. The summary "
                    + "and a status line say so.")
    boolean copyFallback;

    @Option(names = "--no-netmem-tx",
            description = "Emulated NIC only: its driver refuses devmem TX as lo and veth do (bind-tx EOPNOTSUPP "
                    + "\"Driver does not support netmem TX\"), to see the refusal or --copy-fallback.")
    boolean noNetmemTx;

    @Option(names = "--corrupt-at", paramLabel = "OFFSET", converter = Sizes.OffsetConverter.class,
            description = "Flip the byte at this stream offset, to see a receiver's validation catch it.")
    Long corruptAt;

    @Option(names = "--progress", paramLabel = "auto|always|never", converter = ReceiveTarget.ProgressConverter.class,
            defaultValue = "auto", description = "The live progress line on stderr (default ${DEFAULT-VALUE}: on a terminal).")
    ReceiveTarget.ProgressMode progress;

    @Option(names = "--json", description = "Print the summary as JSON (schema: docs/cli.md).")
    boolean json;

    @Option(names = "--binder", paramLabel = "PATH",
            description = "Devmem TX: bind-tx through the devmem bindd daemon listening on PATH instead of in this "
                    + "process, which then needs no capability (docs/security.md). With --dmabuf emulated the daemon "
                    + "must run with --emulated.")
    Path binder;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        CommandLine cl = spec.commandLine();
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
        DmabufChoice d = dmabuf != null ? dmabuf : iface != null ? DmabufChoice.UDMABUF : DmabufChoice.NONE;
        PrintWriter out = cl.getOut();
        PrintWriter err = cl.getErr();
        boolean drawProgress = switch (progress) {
            case ALWAYS -> true;
            case NEVER -> false;
            case AUTO -> Progress.isTerminal();
        };
        if (d.kind() == DmabufChoice.Kind.NONE) {
            rejectTxOptions(cl);
            PatternSender sender = new PatternSender(pattern, term, corruptAt == null ? -1 : corruptAt);
            PatternSender.Result r;
            long start = System.nanoTime();
            Progress drawing = Progress.start(drawProgress, err, new SendProgress(sender, bytes, start));
            try {
                r = sender.send(connect, bytes);
            } finally {
                drawing.close();
            }
            print(out, r, null);
            return ExitCodes.OK;
        }
        TxTarget t = TxTarget.resolve(cl, d, iface, dmabufSize, slice, maxInFlight, copyFallback, noNetmemTx);
        TxPatternSender.Result r;
        if (binder != null) {
            err.println("devmem send: binding through devmem bindd at " + binder);
            err.flush();
        }
        try (ReceiveTarget.Opened opened = t.open(binder)) {
            TxPatternSender sender = new TxPatternSender("send", t.setup(opened.backend()), pattern, term,
                    corruptAt == null ? -1 : corruptAt, err);
            Progress drawing = Progress.start(drawProgress, err, sender.progressLine(bytes));
            try {
                r = sender.send(connect, bytes);
            } finally {
                drawing.close();
            }
        }
        print(out, r.common(), r.tx());
        return ExitCodes.OK;
    }

    private void print(PrintWriter out, PatternSender.Result r, TxPatternSender.Tx tx) {
        if (json) {
            out.println(Reports.json(Reports.sendJson(r, tx)));
            out.flush();
        } else {
            Reports.printSend(out, r, tx);
        }
    }

    /** Plain TCP has no dmabuf: options of devmem TX there are a mistake worth saying. */
    private void rejectTxOptions(CommandLine cl) {
        String given = iface != null ? "--iface"
                : copyFallback ? "--copy-fallback"
                : noNetmemTx ? "--no-netmem-tx"
                : dmabufSize != null ? "--dmabuf-size"
                : slice != null ? "--slice"
                : maxInFlight != null ? "--max-in-flight"
                : binder != null ? "--binder"
                : null;
        if (given != null) {
            throw new CommandLine.ParameterException(cl, given + " is an option of devmem TX, and without --dmabuf "
                    + "(or with --dmabuf none) send uses plain TCP from host memory: add --dmabuf emulated, udmabuf, "
                    + "dma-heap, cuda or fd:N");
        }
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
