package dev.devmem.ffm.linux;

import dev.devmem.api.DevmemException;
import dev.devmem.api.Errno;
import dev.devmem.api.SyscallException;
import dev.devmem.api.spi.DevmemListener;
import dev.devmem.api.spi.DevmemSocket;
import dev.devmem.ffm.rx.DevmemSocketImpl;
import dev.devmem.ffm.rx.PollSource;
import dev.devmem.ffm.RxSocketOptions;
import dev.devmem.ffm.sys.LinuxConstants;
import dev.devmem.ffm.sys.Syscalls;

import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A non-blocking kernel TCP listener. Accepted connections come back as devmem sockets over a
 * {@link LinuxSocketEndpoint}; which of their bytes arrive as DMABUF fragments is decided by the
 * NIC's flow steering, not here.
 */
final class LinuxListener implements DevmemListener, PollSource {
    private static final int EAGAIN = Errno.EAGAIN.number();
    private static final int EINTR = Errno.EINTR.number();
    private static final int ECONNABORTED = Errno.ECONNABORTED.number();

    private final int fd;
    private final RxSocketOptions options;
    private final InetSocketAddress local;
    private final AtomicBoolean closed = new AtomicBoolean();

    LinuxListener(int fd, RxSocketOptions options) {
        this.fd = fd;
        this.options = options;
        this.local = LinuxSocketEndpoint.socketAddress(fd, true);
    }

    @Override
    public InetSocketAddress localAddress() {
        return local;
    }

    @Override
    public DevmemSocket accept() throws DevmemException {
        while (true) {
            if (closed.get()) {
                throw new SyscallException("accept4", Errno.EBADF, "the listener is closed");
            }
            int r = Syscalls.accept4(fd, MemorySegment.NULL, MemorySegment.NULL,
                    LinuxConstants.SOCK_NONBLOCK | LinuxConstants.SOCK_CLOEXEC);
            if (r >= 0) {
                return new DevmemSocketImpl(new LinuxSocketEndpoint(r), options);
            }
            if (r == -EAGAIN) {
                return null;
            }
            if (r != -EINTR && r != -ECONNABORTED) {
                // ECONNABORTED: that connection was reset while queued; the next one may be fine.
                throw new SyscallException("accept4 on " + LinuxSockets.describe(local), Errno.of(-r));
            }
        }
    }

    @Override
    public int pollFd() {
        return closed.get() ? -1 : fd;
    }

    @Override
    public short pollEvents() {
        return LinuxConstants.POLLIN;
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            Syscalls.close(fd);
        }
    }

    @Override
    public String toString() {
        return "LinuxListener[" + LinuxSockets.describe(local) + ", fd " + fd + (closed.get() ? ", closed" : "") + "]";
    }
}
