package dev.devmem.gateway.store;

import dev.devmem.api.SyscallException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Whether a directory's filesystem takes {@code O_DIRECT} writes, found by trying: open a probe file
 * with {@code O_DIRECT} and write one aligned block. tmpfs refuses the open with EINVAL; some
 * filesystems open but fail the write. The answer keeps the errno, so the store can say why it falls
 * back to the page cache.
 *
 * @param supported whether O_DIRECT writes work here
 * @param reason    the refusal ({@code open(..., O_DIRECT) failed: EINVAL ...}), or null
 */
public record DirectIo(boolean supported, String reason) {
    /** O_DIRECT needs the buffer address, file offset and length aligned; 4096 covers every logical block size in use. */
    public static final int ALIGN = 4096;

    /** What the user asked for. */
    public enum Mode { AUTO, ON, OFF }

    public static DirectIo probe(Path dir) {
        Path probe = dir.resolve(".odirect-probe");
        int fd = -1;
        try (Arena a = Arena.ofConfined()) {
            fd = Posix.open(probe.toString(), Posix.O_WRONLY | Posix.O_CREAT | Posix.O_TRUNC | Posix.O_DIRECT
                    | Posix.O_CLOEXEC, 0600);
            MemorySegment block = a.allocate(ALIGN, ALIGN);
            Posix.pwriteFully(fd, block, 0, probe.toString());
            return new DirectIo(true, null);
        } catch (SyscallException e) {
            return new DirectIo(false, e.getMessage());
        } finally {
            if (fd >= 0) {
                Posix.close(fd);
            }
            try {
                Files.deleteIfExists(probe);
            } catch (java.io.IOException ignored) {
                // a probe file left behind is harmless and is retried next time
            }
        }
    }
}
