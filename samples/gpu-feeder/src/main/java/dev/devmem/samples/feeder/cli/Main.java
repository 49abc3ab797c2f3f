package dev.devmem.samples.feeder.cli;

import dev.devmem.api.DevmemException;
import dev.devmem.api.DevmemUnsupportedException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The {@code gpu-feeder} command: {@code receive} feeds devmem connections to a gather device,
 * {@code send} sends records, {@code nio} is the plain-JDK baseline. Errors are one line on stderr.
 */
@Command(name = "gpu-feeder",
        mixinStandardHelpOptions = true,
        version = "gpu-feeder 0.1.0",
        description = "Fixed-size records from a devmem TCP stream, gathered into device batches.",
        subcommands = {ReceiveCommand.class, SendCommand.class, NioBaselineCommand.class,
                CommandLine.HelpCommand.class},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {
                "0:done, every record verified",
                "1:a record was wrong or missing",
                "2:bad command line",
                "3:this host cannot do what was asked (e.g. --device cuda without a GPU; the message says why)",
                "4:a system call, the CUDA driver or the stream failed",
                "70:unexpected failure (rerun with --verbose)"})
public final class Main implements Runnable {
    public static final int DATA_ERROR = 1;
    public static final int UNSUPPORTED = 3;
    public static final int IO_ERROR = 4;
    public static final int SOFTWARE = 70;

    @Option(names = "--verbose", scope = CommandLine.ScopeType.INHERIT, description = "Print stack traces for errors.")
    boolean verbose;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a subcommand is required");
    }

    public static void main(String[] args) {
        System.exit(run(null, null, args));
    }

    /** Runs the command; {@code out}/{@code err} null means stdout/stderr. Returns the exit code. */
    public static int run(java.io.PrintWriter out, java.io.PrintWriter err, String... args) {
        Main main = new Main();
        CommandLine cl = new CommandLine(main);
        if (out != null) {
            cl.setOut(out);
        }
        if (err != null) {
            cl.setErr(err);
        }
        cl.setExecutionExceptionHandler((thrown, line, parsed) -> {
            Throwable ex = reactor.core.Exceptions.unwrap(thrown); // a checked failure carried through a Flux
            String m = ex.getMessage();
            line.getErr().println("gpu-feeder " + line.getCommandName() + ": "
                    + (m == null || m.isBlank() ? ex.getClass().getSimpleName() : m.replace('\n', ' ')));
            if (main.verbose) {
                ex.printStackTrace(line.getErr());
            }
            line.getErr().flush();
            return exitCode(ex);
        });
        return cl.execute(args);
    }

    static int exitCode(Throwable ex) {
        if (ex instanceof RecordsWrongException) {
            return DATA_ERROR;
        }
        if (ex instanceof DevmemUnsupportedException) {
            return UNSUPPORTED;
        }
        if (ex instanceof DevmemException || ex instanceof java.io.IOException) {
            return IO_ERROR;
        }
        return SOFTWARE;
    }
}
