package dev.devmem.cli;

import dev.devmem.ffm.bindd.BinderConfig;
import dev.devmem.ffm.bindd.BinderDaemon;
import dev.devmem.ffm.emulated.EmulatedNicConfig;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;

/**
 * {@code devmem bindd}: the privileged half of the privilege split (docs/security.md). Runs until
 * SIGTERM or SIGINT; stopping ends every client's connection, so every binding it made is unbound.
 */
@Command(name = "bindd", mixinStandardHelpOptions = true,
        description = "Run the binder daemon: hold CAP_NET_ADMIN and bind dmabufs (bind-rx, bind-tx) and set up NICs "
                + "(header split, ntuple, RSS, a flow rule) for applications that have no capability, over a Unix "
                + "socket. Each binding and NIC setup lasts as long as its client's connection. Root is always "
                + "served; other users only by --allow-uid / --allow-gid.")
public final class BinddCommand implements Callable<Integer> {

    @Option(names = "--socket", required = true, paramLabel = "PATH", description = "The Unix socket to listen on.")
    Path socket;

    @Option(names = "--allow-uid", paramLabel = "UID|USER", split = ",",
            description = "Serve this user (number or name); repeatable.")
    List<String> allowUids = List.of();

    @Option(names = "--allow-gid", paramLabel = "GID|GROUP", split = ",",
            description = "Serve members of this group (primary or supplementary; number or name); repeatable.")
    List<String> allowGids = List.of();

    @Option(names = "--mode", paramLabel = "OCTAL", description = "Permissions of the socket file (default: 0660).")
    String mode = "0660";

    @Option(names = "--group", paramLabel = "GID|GROUP", description = "Group of the socket file (default: the daemon's).")
    String group;

    @Option(names = "--max-connections", paramLabel = "N",
            description = "Connections served at once (default: ${DEFAULT-VALUE}).")
    int maxConnections = BinderConfig.DEFAULT_MAX_CONNECTIONS;

    @Option(names = "--emulated", description = "Bind on the control plane of an emulated devmem NIC (emu0) instead of "
            + "the kernel; clients use DevmemBackends.emulatedViaBinder.")
    boolean emulated;

    @Option(names = "--nic-state-dir", paramLabel = "DIR",
            description = "Where the NIC setups made for clients are recorded while in place, for devmem nic-cleanup "
                    + "after a crash (default: /run/devmem).")
    Path nicStateDir;

    @Option(names = "--stats", description = "Do not run a daemon: ask the one on --socket what it holds, print it, exit.")
    boolean stats;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (stats) {
            BinderDaemon.Stats s = BinderDaemon.statsOf(socket);
            PrintWriter out = spec.commandLine().getOut();
            out.printf("connections=%d bindings=%d nicSetups=%d binds=%d refused=%d denied=%d malformed=%d%n",
                    s.connections(), s.bindings(), s.nicSetups(), s.binds(), s.refused(), s.denied(), s.malformed());
            out.flush();
            return ExitCodes.OK;
        }
        BinderConfig config;
        try {
            config = BinderConfig.of(socket).withAllowUids(ids(allowUids, Path.of("/etc/passwd"), "user"))
                    .withAllowGids(ids(allowGids, Path.of("/etc/group"), "group"))
                    .withSocketMode(Integer.parseInt(mode, 8))
                    .withSocketGid(group == null ? -1 : id(group, Path.of("/etc/group"), "group"))
                    .withMaxConnections(maxConnections);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        if (emulated) {
            config = config.withEmulatedNic(EmulatedNicConfig.defaults());
        }
        if (nicStateDir != null) {
            config = config.withNicStateDir(nicStateDir);
        }
        PrintWriter err = spec.commandLine().getErr();
        BinderDaemon daemon = BinderDaemon.start(config, line -> {
            err.println("devmem bindd: " + line);
            err.flush();
        });
        Thread hook = new Thread(daemon::close, "devmem-bindd-stop");
        Runtime.getRuntime().addShutdownHook(hook); // SIGTERM/SIGINT: unbind everything, remove the socket
        try {
            daemon.awaitClosed();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            daemon.close();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the hook is what stopped it
            }
        }
        return ExitCodes.OK;
    }

    static Set<Integer> ids(List<String> names, Path table, String kind) {
        Set<Integer> out = new LinkedHashSet<>();
        for (String n : names) {
            out.add(id(n, table, kind));
        }
        return out;
    }

    /** A numeric id, or the id of a name in {@code /etc/passwd} or {@code /etc/group} (field 3). */
    static int id(String nameOrNumber, Path table, String kind) {
        if (nameOrNumber.chars().allMatch(Character::isDigit) && !nameOrNumber.isEmpty()) {
            return Integer.parseUnsignedInt(nameOrNumber);
        }
        try {
            for (String line : Files.readAllLines(table)) {
                String[] f = line.split(":");
                if (f.length > 2 && f[0].equals(nameOrNumber)) {
                    return Integer.parseUnsignedInt(f[2]);
                }
            }
        } catch (IOException | NumberFormatException e) {
            throw new IllegalArgumentException("cannot read " + table + " to look up " + kind + " " + nameOrNumber
                    + ": " + e.getMessage());
        }
        throw new IllegalArgumentException("no " + kind + " named " + nameOrNumber + " in " + table);
    }
}
