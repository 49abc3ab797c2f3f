package dev.devmem.ffm.linux;

import dev.devmem.api.Errno;
import dev.devmem.api.SyscallException;
import dev.devmem.api.spi.BackendAvailability;
import dev.devmem.ffm.sys.LinuxConstants;
import dev.devmem.ffm.sys.Structs;
import dev.devmem.ffm.sys.Syscalls;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Locale;

/**
 * Asks the running kernel, once, whether it knows devmem RX, and keeps the answer with its cause.
 *
 * <p>Why this probe: a version number says nothing about {@code CONFIG_NET_DEVMEM}. A kernel that
 * knows devmem answers {@code setsockopt(SOL_SOCKET, SO_DEVMEM_DONTNEED)} on a fresh TCP socket with
 * a count (0: it never issued that token, so nothing is freed); one that does not answers
 * {@code ENOPROTOOPT}. The probe is harmless: the socket holds no tokens and is closed at once.
 */
final class DevmemRxProbe {
    private DevmemRxProbe() {
    }

    record Result(BackendAvailability availability, Throwable cause) {
    }

    private static final class Holder {
        static final Result RESULT = run();
    }

    static Result result() {
        return Holder.RESULT;
    }

    static Result run() {
        String os = System.getProperty("os.name", "?");
        String version = System.getProperty("os.version", "?");
        if (!os.toLowerCase(Locale.ROOT).startsWith("linux")) {
            return new Result(BackendAvailability.no("devmem TCP is Linux-only; this is " + os), null);
        }
        try {
            int fd = Syscalls.socket(LinuxConstants.AF_INET, LinuxConstants.SOCK_STREAM | LinuxConstants.SOCK_CLOEXEC, 0);
            if (fd < 0) {
                SyscallException e = new SyscallException("socket(AF_INET, SOCK_STREAM)", Errno.of(-fd));
                return new Result(BackendAvailability.no("cannot open a TCP socket to probe devmem: " + e.getMessage()), e);
            }
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment token = arena.allocate(Structs.DMABUF_TOKEN);
                token.set(ValueLayout.JAVA_INT, Structs.DMABUF_TOKEN_START, 1);
                token.set(ValueLayout.JAVA_INT, Structs.DMABUF_TOKEN_COUNT, 1);
                int r = Syscalls.setsockopt(fd, LinuxConstants.SOL_SOCKET, LinuxConstants.SO_DEVMEM_DONTNEED,
                        token, (int) Structs.DMABUF_TOKEN.byteSize());
                if (r >= 0) {
                    return new Result(BackendAvailability.yes("Linux " + version
                            + ": the kernel has devmem RX (setsockopt(SO_DEVMEM_DONTNEED) probe answered " + r + ")"),
                            null);
                }
                SyscallException e = new SyscallException("setsockopt(SO_DEVMEM_DONTNEED)", Errno.of(-r));
                if (-r == Errno.ENOPROTOOPT.number()) {
                    return new Result(BackendAvailability.no("Linux " + version + " has no devmem RX: "
                            + e.getMessage() + "; it needs Linux 6.12+ built with CONFIG_NET_DEVMEM"), e);
                }
                return new Result(BackendAvailability.no("devmem probe on Linux " + version + " failed: "
                        + e.getMessage()), e);
            } finally {
                Syscalls.close(fd);
            }
        } catch (RuntimeException | LinkageError e) {
            // No native access (--enable-native-access), no libc symbol, ...
            return new Result(BackendAvailability.no("the FFM system-call layer cannot run here: " + e), e);
        }
    }
}
