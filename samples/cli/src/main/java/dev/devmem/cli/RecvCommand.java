package dev.devmem.cli;

import dev.devmem.reactor.NicSetup;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code devmem recv}: the ncdevmem-compatible receiver. Listens, accepts one connection, receives it
 * as {@code Flux<DevmemFrag>} (DMABUF, LINEAR or HOST frags), validates every byte it can read against
 * the netcat pattern, and prints a summary.
 */
@Command(name = "recv", mixinStandardHelpOptions = true,
        description = {
                "Receive one TCP connection through devmem (or plain TCP), validate it, and summarise.",
                "",
                "Accepts what the kernel's devmem documentation sends:",
                "  yes $(echo -e \\\\x01\\\\x02\\\\x03\\\\x04\\\\x05\\\\x06) | tr \\\\n \\\\0 \\\\",
                "    | head -c 1G | nc HOST PORT",
                "with --validate 7, and ncdevmem peers (the same without tr: a newline",
                "terminator).",
                ""},
        footerHeading = "%nExamples:%n",
        footer = {
                "  # plain TCP (HOST frags), e.g. from the kernel doc's nc pipeline:",
                "  devmem recv --listen 127.0.0.1:5201 --validate 7",
                "  # the emulated devmem NIC (DMABUF frags) over real loopback TCP:",
                "  devmem recv --listen 127.0.0.1:5201 --validate 7 --dmabuf emulated",
                "  # a real devmem NIC, rx queue 15 bound to a udmabuf:",
                "  devmem recv --listen 192.168.1.4:5201 --iface eth1 --queues 15 --validate 7",
                "  # the same without any capability: devmem bindd (root) binds and sets up the NIC:",
                "  devmem recv --listen 192.168.1.4:5201 --iface eth1 --queues 15 --setup-nic \\",
                "    --binder /run/devmem/bindd.sock",
                "",
                "Exit codes: 0 ok, 1 data error (mismatch, short stream), 2 bad command line,",
                "3 unsupported here (the message says what is missing), 4 system call or",
                "kernel error, 70 bug (rerun with --verbose)."})
public final class RecvCommand implements Callable<Integer> {

    @Option(names = "--listen", required = true, paramLabel = "HOST:PORT", converter = HostPort.ListenConverter.class,
            description = "Address to listen on: 127.0.0.1:5201, [::1]:5201, :5201 (every address); port 0 picks a free one.")
    InetSocketAddress listen;

    @Mixin
    ReceiveTarget.Options target;

    @Option(names = "--validate", paramLabel = "N",
            description = "Check every byte against 1, 2, ..., N-1 then a terminator, repeating (ncdevmem -v N; the "
                    + "kernel doc's netcat pipeline is N = 7).")
    Integer validate;

    @Option(names = "--terminator", paramLabel = "auto|0|10", defaultValue = "auto",
            description = "The pattern's last byte: 0 (the doc's tr \\\\n \\\\0), 10 (ncdevmem, plain yes), or auto: "
                    + "the first period decides (default ${DEFAULT-VALUE}).")
    String terminator;

    @Option(names = "--bytes", paramLabel = "SIZE", converter = Sizes.Converter.class,
            description = "Stop after SIZE bytes (K, M, G, T suffixes: powers of 1024); a stream that ends sooner is a "
                    + "data error. Default: until the peer closes.")
    Long bytes;

    @Option(names = "--json", description = "Print the summary as JSON (schema: docs/cli.md).")
    boolean json;

    @Option(names = "--binder", paramLabel = "PATH",
            description = "Bind (and with --setup-nic, set up the NIC) through the devmem bindd daemon listening on "
                    + "PATH instead of in this process, which then needs no capability (docs/security.md). With "
                    + "--dmabuf emulated the daemon must run with --emulated.")
    Path binder;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        CommandLine cl = spec.commandLine();
        ReceiveTarget t = ReceiveTarget.resolve(cl, target, 0);
        PatternValidator validator = validator(cl, validate, terminator);
        StreamChecker checker = new StreamChecker(validator, bytes == null ? StreamChecker.UNLIMITED : bytes);
        PrintWriter out = cl.getOut();
        PrintWriter err = cl.getErr();
        if (binder != null && t.bindingSpec() == null) {
            throw new CommandLine.ParameterException(cl, "--binder binds through devmem bindd; with --dmabuf none "
                    + "nothing is bound (name a --dmabuf, or leave --binder out for plain TCP)");
        }
        if (target.setupNic && t.backend == ReceiveTarget.Backend.EMULATED) {
            err.println("devmem recv: --setup-nic: the emulated NIC needs no setup (its flow steering sends the flow "
                    + "to the bound queue" + (t.queues.size() == 1 ? ")" : "s)"));
        }
        ReceiveSession.Result r;
        if (binder != null) {
            err.println("devmem recv: binding" + (t.nicSetup(binder) == NicSetup.none() ? "" : " and NIC setup")
                    + " through devmem bindd at " + binder);
            err.flush();
        }
        try (ReceiveTarget.Opened opened = t.open(binder);
             StopOnSignal stop = new StopOnSignal()) {
            ReceiveSession session = new ReceiveSession("recv", opened.backend(), listen, t.bindingSpec(),
                    t.dmabuf.toString(), t.nicSetup(binder), checker, err, target.progressEnabled(), a -> {
                    });
            stop.onSignal(session::stop);
            r = session.run();
            if (json) {
                out.println(Reports.json(Reports.receiveJson("recv", r)));
                out.flush();
            } else {
                Reports.printReceive(out, "recv", r);
            }
        }
        if (r.failure() != null) {
            throw r.failure();
        }
        return ExitCodes.OK;
    }

    /** The validator for {@code --validate N --terminator T}, or {@code null} without {@code --validate}. */
    static PatternValidator validator(CommandLine cl, Integer period, String terminator) {
        int term = switch (terminator.trim().toLowerCase(Locale.ROOT)) {
            case "auto" -> PatternValidator.AUTO;
            case "0", "0x0", "0x00" -> 0;
            case "10", "0xa", "0x0a", "nl", "newline" -> 0x0A;
            default -> throw new CommandLine.ParameterException(cl,
                    "--terminator '" + terminator + "': use auto, 0 or 10");
        };
        if (period == null) {
            if (term != PatternValidator.AUTO) {
                throw new CommandLine.ParameterException(cl, "--terminator needs --validate N");
            }
            return null;
        }
        if (period < 2 || period > 256) {
            throw new CommandLine.ParameterException(cl, "--validate " + period
                    + ": N must be in [2, 256] (the pattern is the bytes 1..N-1 then a terminator)");
        }
        return new PatternValidator(period, term);
    }
}
