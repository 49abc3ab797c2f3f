package dev.devmem.api;

/**
 * Data from the kernel (or emulated NIC) broke the devmem contract: a malformed control message,
 * cmsg sizes that do not add up to the recvmsg return value, a frag from a binding the socket was
 * not bound to. The library stops rather than guess, because guessing could release tokens that
 * belong to another fragment.
 */
public class DevmemProtocolException extends DevmemException {
    private static final long serialVersionUID = 1L;

    public DevmemProtocolException(String message) {
        super(message);
    }
}
