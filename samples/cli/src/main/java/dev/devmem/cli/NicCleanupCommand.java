package dev.devmem.cli;

import dev.devmem.ffm.nicsetup.DevmemNicSetup;
import dev.devmem.ffm.nicsetup.StaleSetup;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code devmem nic-cleanup}: undoes the NIC setups of processes that died with them in place (docs/nic-setup.md). */
@Command(name = "nic-cleanup", mixinStandardHelpOptions = true,
        description = "Undo NIC setups (header split, ntuple, RSS, flow rules) that devmem processes left behind when "
                + "they died, in this network namespace. Setups of running processes are left alone.")
public final class NicCleanupCommand implements Callable<Integer> {

    @Option(names = "--state-dir", paramLabel = "DIR", description = "Where setups are recorded (default: ${DEFAULT-VALUE}).")
    Path stateDir = DevmemNicSetup.DEFAULT_STATE_DIR;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        List<StaleSetup> found = DevmemNicSetup.cleanupStale(stateDir);
        if (found.isEmpty()) {
            out.println("no NIC setups recorded for this network namespace");
        }
        int failed = 0;
        for (StaleSetup s : found) {
            if (s.ownerAlive()) {
                out.printf("%s: in use by running pid %d, left alone%n", s.ifname(), s.pid());
                continue;
            }
            out.printf("%s (left by pid %d, %s): %s%n", s.ifname(), s.pid(), s.removed() ? "cleaned up" : "NOT fully undone",
                    String.join("; ", s.actions()));
            for (String f : s.failures()) {
                out.printf("  failed: %s%n", f);
                failed++;
            }
        }
        out.flush();
        return failed == 0 ? ExitCodes.OK : ExitCodes.IO_ERROR;
    }
}
