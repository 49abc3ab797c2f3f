package dev.devmem.ffm.nicsetup;

import dev.devmem.api.DevmemException;
import dev.devmem.ffm.ethtool.Ethtool;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;

/**
 * A NIC setup in place. {@link #close()} takes back exactly what this setup changed, newest first,
 * and removes the state file; settings that were already right before the setup are left alone.
 * Close is idempotent and may run on any thread: the ethtool sockets were opened in the interface's
 * network namespace and stay there.
 *
 * <p>If the JVM exits without a close (normal exit, SIGTERM), a shutdown hook restores the interface.
 * After a crash or SIGKILL, the state file remains and {@link DevmemNicSetup#cleanupStale} undoes it.
 */
public final class NicSetupHandle implements AutoCloseable {
    private final String ifname;
    private final Ethtool ethtool;
    private final SetupContext ctx;
    private final List<NicChange> changes;
    private final Thread shutdownHook;
    private boolean closed;

    NicSetupHandle(String ifname, Ethtool ethtool, SetupContext ctx) {
        this.ifname = ifname;
        this.ethtool = ethtool;
        this.ctx = ctx;
        List<NicChange> c = new ArrayList<>();
        ctx.entries().forEach(e -> c.add(e.change()));
        this.changes = List.copyOf(c);
        this.shutdownHook = Thread.ofPlatform().unstarted(this::restoreAtExit);
        Runtime.getRuntime().addShutdownHook(shutdownHook);
    }

    public String ifname() {
        return ifname;
    }

    /** What this setup changed, in the order it changed it (empty when everything was already right). */
    public List<NicChange> changes() {
        return changes;
    }

    /** The slot of the flow rule this setup inserted, if it inserted one. */
    public OptionalInt flowRuleLocation() {
        for (NicChange c : changes) {
            if (c instanceof NicChange.FlowRuleAdded f) {
                return f.location();
            }
        }
        return OptionalInt.empty();
    }

    /** The state file recording this setup until it is closed. */
    public Path stateFile() {
        return ctx.state().path();
    }

    public synchronized boolean isOpen() {
        return !closed;
    }

    /**
     * Restores what this setup changed, newest first. Every change is attempted; if some cannot be
     * restored, they stay in the state file (for {@link DevmemNicSetup#cleanupStale}) and the
     * exception says which.
     */
    @Override
    public synchronized void close() throws NicSetupException {
        if (closed) {
            return;
        }
        closed = true;
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException shuttingDown) {
            // the hook is this call, or runs anyway
        }
        List<String> undone = new ArrayList<>();
        List<String> left = new ArrayList<>();
        DevmemException first = null;
        try {
            List<NicStateFile.Entry> entries = new ArrayList<>(ctx.entries());
            for (NicStateFile.Entry entry : entries.reversed()) {
                try {
                    Restorer.undo(ethtool, ifname, entry);
                    undone.add(entry.change().describe());
                    ctx.forget(entry.change());
                } catch (DevmemException | RuntimeException x) {
                    left.add(entry.change().describe() + " (" + x.getMessage() + ")");
                    if (first == null) {
                        first = x instanceof DevmemException d ? d : new DevmemException(x.toString(), x);
                    } else {
                        first.addSuppressed(x);
                    }
                }
            }
            if (left.isEmpty()) {
                try {
                    ctx.state().delete();
                } catch (DevmemException d) {
                    first = d;
                }
            }
        } finally {
            ethtool.close();
        }
        if (first != null) {
            throw new NicSetupException(ifname, "restore", "Restoring the NIC setup", first, undone, left);
        }
    }

    private void restoreAtExit() {
        try {
            close();
        } catch (NicSetupException | RuntimeException e) {
            System.err.println("devmem: restoring " + ifname + " at exit failed: " + e.getMessage());
        }
    }

    /** Lets go of the sockets without restoring anything, as a crash would (tests of cleanup). */
    synchronized void abandonWithoutRestoring() {
        closed = true;
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException ignored) {
            // shutting down
        }
        ethtool.close();
    }

    @Override
    public String toString() {
        return "NicSetupHandle[" + ifname + ", " + changes.size() + " changes" + (isOpen() ? "" : ", closed") + "]";
    }
}
