package dev.devmem.ffm.nicsetup;

import dev.devmem.api.DevmemException;
import dev.devmem.api.Errno;
import dev.devmem.api.SyscallException;
import dev.devmem.ffm.ethtool.Ethtool;
import dev.devmem.ffm.ethtool.EthtoolSpec;
import dev.devmem.ffm.sys.Syscalls;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Prepares a NIC for devmem RX the way ncdevmem does, through the kernel's own interfaces, and
 * takes it back afterwards:
 * <ol>
 * <li>{@code tcp-data-split} enabled and {@code hds-thresh} 0 (bind-rx refuses otherwise);</li>
 * <li>{@code rx-ntuple-filter} on (only when a flow is to be steered);</li>
 * <li>RSS spread over the queues below the lowest devmem queue, so ordinary traffic stays off the
 *     devmem queues ({@code ethtool -X IF equal N});</li>
 * <li>a flow rule sending the flow to the lowest devmem queue (5-tuple, else 3-tuple).</li>
 * </ol>
 * Only what is not already so is changed; {@link NicSetupHandle#close()} restores exactly that, in
 * reverse. See {@code docs/nic-setup.md}.
 *
 * <pre>{@code
 * try (NicSetupHandle nic = DevmemNicSetup.apply(NicSetupSpec.of("eth1", List.of(8))
 *         .withFlow(DevmemFlow.to(InetAddress.ofLiteral("10.0.0.1"), 5201)))) {
 *     ... bind-rx queue 8, accept, receive ...
 * }
 * }</pre>
 */
public final class DevmemNicSetup {
    private DevmemNicSetup() {
    }

    /** Where setups are recorded while in place; under /run, so a reboot (which undoes them anyway) clears it. */
    public static final Path DEFAULT_STATE_DIR = Path.of("/run/devmem");

    /** The devmem plan for {@code spec}, to inspect or apply. */
    public static NicSetupPlan plan(NicSetupSpec spec) {
        NicSetupPlan p = NicSetupPlan.on(spec.ifname()).stateDir(spec.stateDir()).headerSplit();
        if (spec.flow().isPresent()) {
            p = p.feature(EthtoolSpec.FEATURE_NTUPLE, true);
        }
        if (spec.isolateRss()) {
            p = p.rssAvoiding(spec.devmemQueues());
        }
        if (spec.flow().isPresent()) {
            p = p.flowRule(spec.flow().get().ruleTo(spec.firstDevmemQueue()), true);
        }
        return p;
    }

    /** Applies the devmem plan in the calling thread's network namespace; see {@link NicSetupPlan#apply()}. */
    public static NicSetupHandle apply(NicSetupSpec spec) throws DevmemException {
        return plan(spec).apply();
    }

    /** {@link #cleanupStale(Path)} of {@link #DEFAULT_STATE_DIR}. */
    public static List<StaleSetup> cleanupStale() throws DevmemException {
        return cleanupStale(DEFAULT_STATE_DIR);
    }

    /**
     * Undoes the setups that processes left behind when they died, in the calling thread's network
     * namespace: for each state file whose owner (pid and start time) is gone, the recorded changes
     * are taken back newest first and the file is removed. Files of live processes are reported and
     * left alone. An interface that is gone, or was recreated (another ifindex), took its settings
     * with it; its file is just removed.
     */
    public static List<StaleSetup> cleanupStale(Path stateDir) throws DevmemException {
        List<StaleSetup> out = new ArrayList<>();
        List<Path> files = stateFiles(stateDir);
        if (files.isEmpty()) {
            return out;
        }
        try (Ethtool e = Ethtool.open()) {
            e.ioctl();
            for (Path f : files) {
                Optional<NicStateFile.Content> c = NicStateFile.read(f);
                if (c.isEmpty()) {
                    continue;
                }
                NicStateFile.Content content = c.get();
                if (new ProcessIdentity(content.pid(), content.pidStartTicks()).alive()) {
                    out.add(report(f, content, true, List.of(), List.of(), false));
                } else {
                    out.add(cleanupOne(e, f, content));
                }
            }
        }
        return out;
    }

    /** The setups recorded for the calling thread's namespace, live or stale, without touching them. */
    public static List<StaleSetup> recordedSetups(Path stateDir) throws DevmemException {
        List<StaleSetup> out = new ArrayList<>();
        for (Path f : stateFiles(stateDir)) {
            Optional<NicStateFile.Content> c = NicStateFile.read(f);
            if (c.isPresent()) {
                boolean alive = new ProcessIdentity(c.get().pid(), c.get().pidStartTicks()).alive();
                out.add(report(f, c.get(), alive, List.of(), List.of(), false));
            }
        }
        return out;
    }

    private static List<Path> stateFiles(Path stateDir) throws DevmemException {
        Path dir = NicStateFile.namespaceDir(stateDir, currentNetns());
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().endsWith(".json")
                            && !p.getFileName().toString().startsWith("."))
                    .sorted().toList();
        } catch (IOException e) {
            throw new SyscallException("NIC setup state: list " + dir, Errno.EIO, e.getMessage());
        }
    }

    /** Undoes one dead process's setup and removes its file when nothing is left to undo. */
    static StaleSetup cleanupOne(Ethtool e, Path file, NicStateFile.Content c) throws DevmemException {
        List<String> actions = new ArrayList<>();
        List<String> failures = new ArrayList<>();
        int now = Syscalls.ifNameToIndex(c.ifname());
        if (now < 0) {
            actions.add(c.ifname() + " is gone; its settings went with it");
        } else if (now != c.ifindex()) {
            actions.add(c.ifname() + " is now ifindex " + now + ", not " + c.ifindex()
                    + ": a new interface with the old one's name; nothing of the old setup is on it");
        } else {
            List<NicStateFile.Entry> remaining = new ArrayList<>(c.entries());
            for (NicStateFile.Entry entry : c.entries().reversed()) {
                try {
                    actions.add(Restorer.undo(e, c.ifname(), entry));
                    remaining.remove(entry);
                } catch (DevmemException | RuntimeException x) {
                    failures.add(entry.change().describe() + ": " + x.getMessage());
                }
            }
            if (!failures.isEmpty()) {
                NicStateFile.writeContent(file, new NicStateFile.Content(c.pid(), c.pidStartTicks(), c.netns(),
                        c.ifname(), c.ifindex(), c.started(), remaining));
                return report(file, c, false, actions, failures, false);
            }
        }
        try {
            Files.deleteIfExists(file);
        } catch (IOException x) {
            failures.add("could not remove " + file + ": " + x.getMessage());
            return report(file, c, false, actions, failures, false);
        }
        return report(file, c, false, actions, failures, true);
    }

    private static StaleSetup report(Path file, NicStateFile.Content c, boolean alive, List<String> actions,
                                     List<String> failures, boolean removed) {
        return new StaleSetup(file, c.ifname(), c.ifindex(), c.pid(), alive, c.started(),
                c.entries().stream().map(NicStateFile.Entry::change).toList(), actions, failures, removed);
    }

    /** The inode of the calling thread's network namespace: state files are kept per namespace. */
    static long currentNetns() throws DevmemException {
        try {
            String link = Files.readSymbolicLink(Path.of("/proc/thread-self/ns/net")).toString();
            return Long.parseLong(link.substring(link.indexOf('[') + 1, link.indexOf(']')));
        } catch (IOException | RuntimeException e) {
            throw new SyscallException("readlink /proc/thread-self/ns/net", Errno.EIO, e.toString());
        }
    }
}
