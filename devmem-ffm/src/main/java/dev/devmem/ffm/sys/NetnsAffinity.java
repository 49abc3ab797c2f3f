package dev.devmem.ffm.sys;

import dev.devmem.api.SyscallException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The network namespace of the thread that made it, to be entered again by another thread.
 *
 * <p>Linux network namespaces belong to threads, not processes, and every socket (netlink
 * included) lives in the namespace of the thread that created it. Work handed to a pooled thread
 * (blocking setup: bind-rx, listen, connect) must therefore run in the namespace of the thread that
 * asked for it, or an application that runs some threads in another namespace would bind and listen
 * in the wrong one. When both are the same namespace, as in almost every process, {@link #enter()}
 * is one readlink.
 */
public final class NetnsAffinity implements AutoCloseable {
    private static final Path SELF = Path.of("/proc/thread-self/ns/net");

    private final int fd;
    private final String id;

    private NetnsAffinity(int fd, String id) {
        this.fd = fd;
        this.id = id;
    }

    /** The calling thread's network namespace. Holds an fd to it until {@link #close()}. */
    public static NetnsAffinity ofCurrentThread() throws SyscallException {
        int fd = Syscalls.check(Syscalls.open(SELF.toString(), LinuxConstants.O_RDONLY | LinuxConstants.O_CLOEXEC),
                "open(" + SELF + ")");
        return new NetnsAffinity(fd, currentId());
    }

    /** The calling thread's namespace as the kernel names it, e.g. {@code net:[4026531840]}. */
    public static String currentId() {
        try {
            return Files.readSymbolicLink(SELF).toString();
        } catch (IOException e) {
            return "unknown";
        }
    }

    public String id() {
        return id;
    }

    /** Moves the calling thread into this namespace, unless it is already there. */
    public void enter() throws SyscallException {
        if (!id.equals(currentId())) {
            Syscalls.check(Syscalls.setns(fd, LinuxConstants.CLONE_NEWNET), "setns(" + id + ", CLONE_NEWNET)");
        }
    }

    @Override
    public void close() {
        Syscalls.closeQuietly(fd);
    }

    @Override
    public String toString() {
        return "NetnsAffinity[" + id + "]";
    }
}
