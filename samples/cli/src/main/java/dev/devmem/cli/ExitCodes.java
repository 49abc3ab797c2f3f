package dev.devmem.cli;

/** The devmem command's exit codes (documented in docs/cli.md). */
public final class ExitCodes {
    private ExitCodes() {
    }

    /** Done, and everything checked out. */
    public static final int OK = 0;
    /** The data was wrong: a validation mismatch, a short stream. */
    public static final int DATA_ERROR = 1;
    /** The command line was wrong. */
    public static final int USAGE = 2;
    /** This host cannot do what was asked (kernel, device, privilege); the message says what is missing. */
    public static final int UNSUPPORTED = 3;
    /** A system call or the kernel failed; the message names the call and the errno. */
    public static final int IO_ERROR = 4;
    /** A bug or an unexpected failure; rerun with --verbose for the stack trace. */
    public static final int SOFTWARE = 70;
}
