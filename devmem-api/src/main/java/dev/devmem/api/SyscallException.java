package dev.devmem.api;

import java.util.Objects;

/**
 * A system call failed with an errno. The message names the operation and the errno, e.g.
 * {@code setsockopt(SO_DEVMEM_DONTNEED) failed: EBADF (9, Bad file descriptor)}, followed by
 * an explanation where the library knows what the errno means in that context.
 */
public class SyscallException extends DevmemException {
    private static final long serialVersionUID = 1L;

    private final String operation;
    private final transient Errno errno;
    private final String explanation;

    public SyscallException(String operation, Errno errno) {
        this(operation, errno, null);
    }

    public SyscallException(String operation, Errno errno, String explanation) {
        super(format(operation, errno, explanation));
        this.operation = Objects.requireNonNull(operation, "operation");
        this.errno = Objects.requireNonNull(errno, "errno");
        this.explanation = explanation;
    }

    protected SyscallException(String operation, Errno errno, String explanation, String message) {
        super(message);
        this.operation = Objects.requireNonNull(operation, "operation");
        this.errno = Objects.requireNonNull(errno, "errno");
        this.explanation = explanation;
    }

    private static String format(String operation, Errno errno, String explanation) {
        String base = operation + " failed: " + errno;
        return explanation == null ? base : base + ": " + explanation;
    }

    /** The call that failed, e.g. {@code recvmsg(MSG_SOCK_DEVMEM)} or {@code netdev bind-rx}. */
    public String operation() {
        return operation;
    }

    public Errno errno() {
        return errno;
    }

    /** What the library knows this errno means here, or {@code null}. */
    public String explanation() {
        return explanation;
    }
}
