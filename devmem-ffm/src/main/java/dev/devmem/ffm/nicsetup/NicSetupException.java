package dev.devmem.ffm.nicsetup;

import dev.devmem.api.DevmemUnsupportedException;
import dev.devmem.api.Errno;
import dev.devmem.api.SyscallException;

import java.util.List;

/**
 * A NIC setup step failed, or taking a setup back did. The cause is the kernel's refusal (a
 * {@link dev.devmem.api.NetlinkException} with its extack text, or a {@link SyscallException} from
 * the ethtool ioctl); the message also says what was undone and, if anything could not be, what is
 * still in place (and recorded in the state file for {@link DevmemNicSetup#cleanupStale}).
 *
 * <p>The errno is the cause's; a kernel that lacks a feature altogether counts as {@code EOPNOTSUPP}.
 */
public final class NicSetupException extends SyscallException {
    private static final long serialVersionUID = 1L;

    private final String ifname;
    private final String step;
    private final List<String> undone;
    private final List<String> leftInPlace;

    NicSetupException(String ifname, String step, String what, Throwable cause, List<String> undone,
                      List<String> leftInPlace) {
        super("NIC setup of " + ifname + " (" + step + ")", errnoOf(cause), null,
                message(ifname, step, what, cause, undone, leftInPlace));
        initCause(cause);
        this.ifname = ifname;
        this.step = step;
        this.undone = List.copyOf(undone);
        this.leftInPlace = List.copyOf(leftInPlace);
    }

    /**
     * The exception a NIC setup made elsewhere failed with, as {@code devmem bindd} relays it to its
     * client: the same step, lists and cause (the kernel's refusal with its extack text), so the
     * client catches what applying the setup itself would have thrown.
     */
    public static NicSetupException relayed(String ifname, String step, Throwable cause, List<String> undone,
                                            List<String> leftInPlace) {
        return new NicSetupException(ifname, step, step.equals("restore") ? "Restoring the NIC setup" : "NIC setup",
                cause, undone, leftInPlace);
    }

    private static Errno errnoOf(Throwable cause) {
        if (cause instanceof SyscallException s) {
            return s.errno();
        }
        if (cause instanceof DevmemUnsupportedException) {
            return Errno.EOPNOTSUPP;
        }
        return Errno.EIO;
    }

    private static String message(String ifname, String step, String what, Throwable cause, List<String> undone,
                                  List<String> leftInPlace) {
        StringBuilder sb = new StringBuilder(what).append(" of ").append(ifname).append(" failed at step ").append(step);
        if (cause != null) {
            sb.append(": ").append(cause.getMessage());
        }
        if (what.equals("NIC setup")) {
            if (undone.isEmpty() && leftInPlace.isEmpty()) {
                sb.append(". Nothing was changed.");
            } else if (!undone.isEmpty()) {
                sb.append(". Undone: ").append(String.join("; ", undone)).append('.');
            }
        }
        if (!leftInPlace.isEmpty()) {
            sb.append(" NOT undone, still in place: ").append(String.join("; ", leftInPlace))
                    .append(" (recorded in the state file; DevmemNicSetup.cleanupStale retries once this process is gone)");
        }
        return sb.toString();
    }

    public String ifname() {
        return ifname;
    }

    /** The step that failed: {@code header-split}, {@code feature}, {@code rss}, {@code flow-rule}, {@code lock}. */
    public String step() {
        return step;
    }

    /** The changes taken back after the failure, most recent first. */
    public List<String> undone() {
        return undone;
    }

    /** Changes that could not be taken back and are still in place. */
    public List<String> leftInPlace() {
        return leftInPlace;
    }
}
