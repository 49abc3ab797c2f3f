package dev.devmem.ffm.nicsetup;

import dev.devmem.api.DevmemException;
import dev.devmem.api.Errno;
import dev.devmem.api.SyscallException;
import dev.devmem.ffm.ethtool.Ethtool;
import dev.devmem.ffm.ethtool.FlowRuleSpec;
import dev.devmem.ffm.sys.Syscalls;

import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * An ordered list of reversible changes to one interface, applied all or nothing.
 * {@link DevmemNicSetup#plan} builds the devmem one (header split, ntuple, RSS, flow rule); this class
 * lets callers and tests compose others. Immutable: each method returns a new plan.
 *
 * <p>{@link #apply()} runs the steps in order. Each step reads the current state and changes it only
 * when needed, so settings the user already had are neither touched nor "restored" later. Every
 * change is written to the state file before it is made. If a step fails, the steps done so far are
 * undone in reverse order before the {@link NicSetupException} is thrown.
 */
public final class NicSetupPlan {
    private final String ifname;
    private final List<SetupStep> steps;
    private final Path stateDir;

    private NicSetupPlan(String ifname, List<SetupStep> steps, Path stateDir) {
        this.ifname = ifname;
        this.steps = List.copyOf(steps);
        this.stateDir = stateDir;
    }

    /** An empty plan for {@code ifname}, recording under {@link DevmemNicSetup#DEFAULT_STATE_DIR}. */
    public static NicSetupPlan on(String ifname) {
        Objects.requireNonNull(ifname, "ifname");
        return new NicSetupPlan(ifname, List.of(), DevmemNicSetup.DEFAULT_STATE_DIR);
    }

    private NicSetupPlan with(SetupStep step) {
        List<SetupStep> next = new ArrayList<>(steps);
        next.add(step);
        return new NicSetupPlan(ifname, next, stateDir);
    }

    /** tcp-data-split enabled and hds-thresh 0 (rings-set), where not already so. */
    public NicSetupPlan headerSplit() {
        return with(new SetupStep.HeaderSplit());
    }

    /** A netdev feature on or off by name (features-set), where not already so. */
    public NicSetupPlan feature(String name, boolean on) {
        return with(new SetupStep.Feature(Objects.requireNonNull(name, "name"), on));
    }

    /** RSS spread over the queues below the lowest of {@code devmemQueues}, where it reaches one of them now. */
    public NicSetupPlan rssAvoiding(Collection<Integer> devmemQueues) {
        if (devmemQueues.isEmpty() || devmemQueues.stream().mapToInt(Integer::intValue).min().orElse(0) < 1) {
            throw new IllegalArgumentException("RSS needs at least queue 0 left for ordinary traffic: " + devmemQueues);
        }
        return with(new SetupStep.RssAvoiding(new HashSet<>(devmemQueues)));
    }

    /** A flow-steering rule; a refused 5-tuple falls back to its 3-tuple when {@code fallBack}. */
    public NicSetupPlan flowRule(FlowRuleSpec rule, boolean fallBack) {
        return with(new SetupStep.FlowRuleStep(Objects.requireNonNull(rule, "rule"), fallBack));
    }

    /** Where the state file goes (tests use a temporary directory). */
    public NicSetupPlan stateDir(Path dir) {
        return new NicSetupPlan(ifname, steps, Objects.requireNonNull(dir, "dir"));
    }

    public String ifname() {
        return ifname;
    }

    /** The steps' names, in order. */
    public List<String> steps() {
        return SetupStep.names(steps);
    }

    public Path stateDir() {
        return stateDir;
    }

    /**
     * Applies the plan to the interface in the calling thread's network namespace. The returned
     * handle's {@link NicSetupHandle#close()} takes back exactly what was changed, from any thread.
     *
     * @throws NicSetupException a step failed (with the kernel's refusal as the cause); whatever was
     *                           changed before it has been undone, or the message says what could not be
     * @throws SyscallException  {@code ENODEV}: no such interface here (nothing was touched)
     */
    public NicSetupHandle apply() throws DevmemException {
        long netns = DevmemNicSetup.currentNetns();
        int ifindex = Syscalls.ifNameToIndex(ifname);
        if (ifindex < 0) {
            throw new SyscallException("NIC setup of " + ifname, Errno.of(-ifindex),
                    "there is no interface " + ifname + " in this network namespace");
        }
        Ethtool e = Ethtool.open();
        try {
            e.ioctl(); // opened now, so that its socket is in this namespace whatever thread closes the handle
            NicStateFile state = acquire(e, netns, ifindex);
            SetupContext ctx = new SetupContext(ifname, e, state);
            for (SetupStep step : steps) {
                try {
                    step.apply(ctx);
                } catch (DevmemException | RuntimeException failure) {
                    List<String> undone = new ArrayList<>();
                    List<String> left = new ArrayList<>();
                    undoAll(e, ctx, undone, left, failure);
                    if (left.isEmpty()) {
                        try {
                            state.delete();
                        } catch (DevmemException d) {
                            failure.addSuppressed(d);
                        }
                    }
                    throw new NicSetupException(ifname, step.name(), "NIC setup", failure, undone, left);
                }
            }
            return new NicSetupHandle(ifname, e, ctx);
        } catch (DevmemException | RuntimeException | Error t) {
            e.close();
            throw t;
        }
    }

    /** Undoes every journaled change, newest first; what could not be undone stays in the journal. */
    static void undoAll(Ethtool e, SetupContext ctx, List<String> undone, List<String> left, Throwable collectInto) {
        List<NicStateFile.Entry> entries = new ArrayList<>(ctx.entries());
        for (NicStateFile.Entry entry : entries.reversed()) {
            try {
                Restorer.undo(e, ctx.ifname(), entry);
                undone.add(entry.change().describe());
                ctx.forget(entry.change());
            } catch (DevmemException | RuntimeException x) {
                left.add(entry.change().describe() + " (" + x.getMessage() + ")");
                if (collectInto != null) {
                    collectInto.addSuppressed(x);
                }
            }
        }
    }

    private NicStateFile acquire(Ethtool e, long netns, int ifindex) throws DevmemException {
        Path file = NicStateFile.fileFor(stateDir, netns, ifname);
        for (int attempt = 0; ; attempt++) {
            try {
                return NicStateFile.create(stateDir, netns, ifname, ifindex);
            } catch (FileAlreadyExistsException held) {
                Optional<NicStateFile.Content> c = NicStateFile.read(file);
                if (c.isEmpty() && attempt < 3) {
                    continue; // released meanwhile
                }
                NicStateFile.Content owner = c.orElseThrow();
                boolean alive = new ProcessIdentity(owner.pid(), owner.pidStartTicks()).alive();
                if (alive || attempt > 0) {
                    throw new NicSetupException(ifname, "lock", "NIC setup", new SyscallException(
                            "NIC setup state " + file, Errno.EBUSY, ifname + " is already set up by pid "
                            + owner.pid() + " (since " + owner.started() + ")"), List.of(), List.of());
                }
                StaleSetup cleaned = DevmemNicSetup.cleanupOne(e, file, owner);
                if (!cleaned.removed()) {
                    throw new NicSetupException(ifname, "lock", "NIC setup", new SyscallException(
                            "NIC setup state " + file, Errno.EBUSY, "pid " + owner.pid() + " died with " + ifname
                            + " set up, and its changes could not all be undone: " + cleaned.failures()),
                            List.of(), List.of());
                }
            }
        }
    }

    @Override
    public String toString() {
        return "NicSetupPlan[" + ifname + " " + steps() + ", state in " + stateDir + "]";
    }
}
