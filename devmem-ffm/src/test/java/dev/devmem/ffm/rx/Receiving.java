package dev.devmem.ffm.rx;

import dev.devmem.api.DevmemException;
import dev.devmem.api.spi.ReceiveBatch;
import dev.devmem.ffm.sys.Structs;
import dev.devmem.ffm.sys.Syscalls;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** Test helper: receive on a socket, waiting with poll(2) while the kernel has nothing yet. */
final class Receiving {
    private Receiving() {
    }

    /**
     * Receives until something comes, the stream ends, or the socket stalls on host memory
     * ({@code pollFd() == -1}, returns 0 then).
     */
    static int whenReady(DevmemSocketImpl socket, ReceiveBatch batch) throws DevmemException {
        while (true) {
            int n = socket.receive(batch);
            if (n != 0) {
                return n;
            }
            int fd = socket.pollFd();
            if (fd < 0) {
                return 0;
            }
            waitReadable(fd);
        }
    }

    static void waitReadable(int fd) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(Structs.POLLFD);
            p.set(ValueLayout.JAVA_INT, Structs.POLLFD_FD, fd);
            p.set(ValueLayout.JAVA_SHORT, Structs.POLLFD_EVENTS, (short) 1);
            Syscalls.poll(p, 1, 1000);
        }
    }
}
