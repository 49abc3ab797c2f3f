package dev.devmem.api;

import java.io.IOException;

/**
 * Root of every failure the library reports. Subclasses say which layer failed: a system call
 * ({@link SyscallException}), a netlink request with the kernel's extended ACK
 * ({@link NetlinkException}), a kernel or device that lacks a feature
 * ({@link DevmemUnsupportedException}), or data that breaks the kernel's devmem contract
 * ({@link DevmemProtocolException}).
 */
public class DevmemException extends IOException {
    private static final long serialVersionUID = 1L;

    public DevmemException(String message) {
        super(message);
    }

    public DevmemException(String message, Throwable cause) {
        super(message, cause);
    }
}
