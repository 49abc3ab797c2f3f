package dev.devmem.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Runs the devmem command in this JVM and captures what it prints. */
final class Cli {
    /** A hang guard only: nothing in these tests should come near it. */
    static final Duration TIMEOUT = Duration.ofMinutes(3);
    private static final Object SYSTEM_STREAMS = new Object();
    private static final Pattern LISTENING = Pattern.compile("listening on (\\S+):(\\d+) ");

    private Cli() {
    }

    /** What one run printed, and its exit code. */
    record Run(int exit, String out, String err) {
        JsonNode json() {
            try {
                return new ObjectMapper().readTree(out);
            } catch (IOException e) {
                throw new AssertionError("stdout is not JSON: " + out + "\nstderr: " + err, e);
            }
        }

        @Override
        public String toString() {
            return "exit " + exit + "\n--- stdout\n" + out + "--- stderr\n" + err;
        }
    }

    /** A command running in the background, with its output so far. */
    static final class Running {
        final CompletableFuture<Run> done;
        final Supplier<String> errSoFar;

        Running(CompletableFuture<Run> done, Supplier<String> errSoFar) {
            this.done = done;
            this.errSoFar = errSoFar;
        }

        /** Waits for the "listening on HOST:PORT" status line and returns the port. */
        int awaitListeningPort() throws InterruptedException {
            long deadline = System.nanoTime() + TIMEOUT.toNanos();
            while (System.nanoTime() < deadline) {
                Matcher m = LISTENING.matcher(errSoFar.get());
                if (m.find()) {
                    return Integer.parseInt(m.group(2));
                }
                if (done.isDone()) {
                    throw new AssertionError("the command ended before listening: " + done.join());
                }
                Thread.sleep(10);
            }
            throw new AssertionError("not listening after " + TIMEOUT + ": " + errSoFar.get());
        }

        Run await() throws InterruptedException, ExecutionException, TimeoutException {
            return done.get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    /** {@link Main#run} with System.out and System.err captured (one such run at a time). */
    static Run run(String... args) {
        synchronized (SYSTEM_STREAMS) {
            PrintStream out = System.out;
            PrintStream err = System.err;
            ByteArrayOutputStream o = new ByteArrayOutputStream();
            ByteArrayOutputStream e = new ByteArrayOutputStream();
            try {
                System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
                System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
                int exit = Main.run(args);
                System.out.flush();
                System.err.flush();
                return new Run(exit, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
            } finally {
                System.setOut(out);
                System.setErr(err);
            }
        }
    }

    /**
     * The command as {@link Main#run} sets it up (exception mapper, error reporter), but printing to
     * writers of its own, so that two commands can run at once in this JVM (send and recv).
     */
    static Running startIsolated(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        PrintWriter errWriter = new PrintWriter(err, true);
        CompletableFuture<Run> done = CompletableFuture.supplyAsync(() -> {
            Main main = new Main();
            CommandLine cl = new CommandLine(main);
            cl.setOut(new PrintWriter(out, true));
            cl.setErr(errWriter);
            cl.setExitCodeExceptionMapper(ErrorReporter::exitCode);
            cl.setExecutionExceptionHandler(new ErrorReporter(() -> main.verbose));
            int exit = cl.execute(args);
            return new Run(exit, out.toString(), err.toString());
        }, r -> Thread.ofPlatform().daemon().name("cli-" + args[0]).start(r));
        return new Running(done, err::toString);
    }

    /**
     * {@link #run} on a background thread; its stderr so far is readable while it runs. It holds the
     * capture of System.out/err for the whole run, so nothing else in this JVM should print meanwhile.
     */
    static Running start(String... args) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        CompletableFuture<Run> done = new CompletableFuture<>();
        Thread.ofPlatform().daemon().name("cli-" + args[0]).start(() -> {
            synchronized (SYSTEM_STREAMS) {
                PrintStream out = System.out;
                PrintStream err = System.err;
                System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
                System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
                try {
                    int exit = Main.run(args);
                    System.out.flush();
                    System.err.flush();
                    done.complete(new Run(exit, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8)));
                } catch (Throwable t) {
                    done.completeExceptionally(t);
                } finally {
                    System.setOut(out);
                    System.setErr(err);
                }
            }
        });
        return new Running(done, () -> e.toString(StandardCharsets.UTF_8));
    }

    static void sleepQuietly(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UncheckedIOException(new IOException(e));
        }
    }
}
