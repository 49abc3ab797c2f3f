package dev.devmem.gateway.store;

import dev.devmem.api.Errno;
import dev.devmem.api.SyscallException;

import java.io.IOException;

/** Turns what the filesystem said into the store's typed errors: ENOSPC (and EDQUOT) become {@link StoreFullException}. */
final class Failures {
    private static final int EDQUOT = 122;

    private Failures() {
    }

    static StoreException typed(String key, String doing, IOException e) {
        if (e instanceof StoreException s) {
            return s;
        }
        if (e instanceof SyscallException s) {
            int n = s.errno().number();
            return n == Errno.ENOSPC.number() || n == EDQUOT
                    ? new StoreFullException(key, doing + ": " + s.getMessage(), e)
                    : new StoreException(key, doing + ": " + s.getMessage(), e);
        }
        // FileChannel reports strerror's text, not the errno: match the two texts that mean "full".
        String m = String.valueOf(e.getMessage());
        if (m.contains("No space left on device") || m.contains("Disk quota exceeded")) {
            return new StoreFullException(key, doing + ": " + m + " (ENOSPC)", e);
        }
        return new StoreException(key, doing + ": " + e, e);
    }
}
