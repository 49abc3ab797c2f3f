package dev.devmem.gateway.store;

/** The store has no room: ENOSPC from the filesystem (or a quota). Nothing of the object stays visible. */
public class StoreFullException extends StoreException {
    private static final long serialVersionUID = 1L;

    public StoreFullException(String key, String message, Throwable cause) {
        super(key, message, cause);
    }
}
