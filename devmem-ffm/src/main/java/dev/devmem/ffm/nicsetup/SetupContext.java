package dev.devmem.ffm.nicsetup;

import dev.devmem.api.DevmemException;
import dev.devmem.api.NetlinkException;
import dev.devmem.api.SyscallException;
import dev.devmem.ffm.ethtool.Ethtool;

import java.util.ArrayList;
import java.util.List;

/**
 * What a step works with: the interface, the ethtool sockets (opened in the interface's namespace)
 * and the journal. A step calls {@link #begin} with the change it is about to make (written to the
 * state file first), then {@link #done} once the kernel took it, or {@link #refused} when the kernel
 * said no.
 */
final class SetupContext {
    private final String ifname;
    private final Ethtool ethtool;
    private final NicStateFile state;
    private final List<NicStateFile.Entry> entries = new ArrayList<>();

    SetupContext(String ifname, Ethtool ethtool, NicStateFile state) {
        this.ifname = ifname;
        this.ethtool = ethtool;
        this.state = state;
    }

    String ifname() {
        return ifname;
    }

    Ethtool ethtool() {
        return ethtool;
    }

    NicStateFile state() {
        return state;
    }

    /** Records {@code change} as pending before the kernel is asked. */
    void begin(NicChange change) throws DevmemException {
        entries.add(new NicStateFile.Entry(change, false));
        state.write(entries);
    }

    /** Replaces the pending change (the step retries with another form, e.g. a 3-tuple rule). */
    void replacePending(NicChange change) throws DevmemException {
        entries.set(entries.size() - 1, new NicStateFile.Entry(change, false));
        state.write(entries);
    }

    /** Marks the pending change as made, in its final form. */
    void done(NicChange change) throws DevmemException {
        entries.set(entries.size() - 1, new NicStateFile.Entry(change, true));
        state.write(entries);
    }

    /**
     * The kernel answered the request for the pending change with {@code failure}. A netlink or ioctl
     * refusal means nothing changed, so the pending change is dropped; any other failure (the answer
     * was lost) leaves it to be undone, which is harmless if it never happened.
     */
    void refused(DevmemException failure) throws DevmemException {
        if (failure instanceof NetlinkException || failure instanceof SyscallException) {
            entries.removeLast();
            state.write(entries);
        }
    }

    /** Drops the pending change: it turned out to change nothing. */
    void abandon() throws DevmemException {
        entries.removeLast();
        state.write(entries);
    }

    List<NicStateFile.Entry> entries() {
        return List.copyOf(entries);
    }

    /** Drops the entry for {@code change} once it has been undone. */
    void forget(NicChange change) throws DevmemException {
        entries.removeIf(e -> e.change().equals(change));
        state.write(entries);
    }
}
