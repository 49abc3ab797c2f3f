package dev.devmem.gateway.store;

import java.io.IOException;

/**
 * A store refused to take or publish an object. The message names the object, the operation and the
 * cause (the errno for the file store, the service's error code for S3). The object is not visible.
 */
public class StoreException extends IOException {
    private static final long serialVersionUID = 1L;

    private final String key;

    public StoreException(String key, String message, Throwable cause) {
        super("object " + key + ": " + message, cause);
        this.key = key;
    }

    /** The object that was being written. */
    public String key() {
        return key;
    }
}
