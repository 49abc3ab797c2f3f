package dev.devmem.cli;

import dev.devmem.api.DevmemProtocolException;
import dev.devmem.api.DevmemUnsupportedException;
import dev.devmem.api.Errno;
import dev.devmem.api.SyscallException;
import picocli.CommandLine;

import java.util.function.BooleanSupplier;

/** Turns a failure into one line on stderr and an exit code; the stack trace only with --verbose. */
final class ErrorReporter implements CommandLine.IExecutionExceptionHandler {
    private final BooleanSupplier verbose;

    ErrorReporter(BooleanSupplier verbose) {
        this.verbose = verbose;
    }

    @Override
    public int handleExecutionException(Exception ex, CommandLine cl, CommandLine.ParseResult parsed) {
        cl.getErr().println("devmem " + cl.getCommandName() + ": " + oneLine(ex));
        if (verbose.getAsBoolean()) {
            ex.printStackTrace(cl.getErr());
        }
        cl.getErr().flush();
        return exitCode(ex);
    }

    static String oneLine(Throwable ex) {
        String m = ex.getMessage();
        return m == null || m.isBlank() ? ex.getClass().getSimpleName() : m.replace('\n', ' ');
    }

    static int exitCode(Throwable ex) {
        if (ex instanceof DataMismatchException) {
            return ExitCodes.DATA_ERROR;
        }
        if (ex instanceof DevmemUnsupportedException) {
            return ExitCodes.UNSUPPORTED;
        }
        if (ex instanceof SyscallException se) {
            Errno e = se.errno();
            if (e.equals(Errno.EPERM) || e.equals(Errno.EACCES) || e.equals(Errno.EOPNOTSUPP)) {
                return ExitCodes.UNSUPPORTED;
            }
            return ExitCodes.IO_ERROR;
        }
        if (ex instanceof DevmemProtocolException || ex instanceof java.io.IOException) {
            return ExitCodes.IO_ERROR;
        }
        if (ex instanceof CommandLine.ParameterException) {
            return ExitCodes.USAGE;
        }
        return ExitCodes.SOFTWARE;
    }
}
