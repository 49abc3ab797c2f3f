package dev.devmem.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The {@code devmem} command. Errors are one clear line on stderr; the stack trace only with
 * {@code --verbose}. Exit codes are in {@link ExitCodes}.
 */
@Command(name = "devmem",
        mixinStandardHelpOptions = true,
        version = "devmem 0.1.0",
        description = "Linux device-memory TCP for the JVM: check a host, receive, send, demo.",
        subcommands = {DoctorCommand.class, RecvCommand.class, SendCommand.class, DemoCommand.class,
                NicCleanupCommand.class, BinddCommand.class, CommandLine.HelpCommand.class},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {
                "0:done, everything checked out",
                "1:the data was wrong (validation mismatch, short stream)",
                "2:bad command line",
                "3:this host cannot do what was asked (the message says what is missing)",
                "4:a system call or the kernel failed (the message names the call and errno)",
                "70:unexpected failure (rerun with --verbose)"})
public final class Main implements Runnable {

    @Option(names = "--verbose", scope = CommandLine.ScopeType.INHERIT,
            description = "Print stack traces for errors.")
    boolean verbose;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a subcommand is required");
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command and returns its exit code (tests call this instead of {@link #main}). */
    public static int run(String... args) {
        return run(null, null, args);
    }

    /** Runs the command with its output and errors going to {@code out} and {@code err} (null: stdout, stderr). */
    public static int run(java.io.PrintWriter out, java.io.PrintWriter err, String... args) {
        Main main = new Main();
        CommandLine cl = new CommandLine(main);
        if (out != null) {
            cl.setOut(out);
        }
        if (err != null) {
            cl.setErr(err);
        }
        cl.setExitCodeExceptionMapper(ErrorReporter::exitCode);
        cl.setExecutionExceptionHandler(new ErrorReporter(() -> main.verbose));
        return cl.execute(args);
    }
}
