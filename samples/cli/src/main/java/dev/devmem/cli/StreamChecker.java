package dev.devmem.cli;

import dev.devmem.api.DevmemFrag;

import java.util.function.Consumer;

/**
 * What {@code recv} and {@code demo} do with each frag, on the connection's I/O thread: check that it
 * continues the stream where the previous one ended, validate its bytes (when asked and when the CPU
 * can read them), stop counting at the byte limit, and release it, whatever happened.
 *
 * <p>Nothing here allocates per frag; counters are plain fields written by the one I/O thread and
 * read after the receive has terminated (the Reactor terminal signal orders them).
 */
final class StreamChecker implements Consumer<DevmemFrag> {
    /** No byte limit. */
    static final long UNLIMITED = Long.MAX_VALUE;

    private final PatternValidator validator;
    private final long limit;

    private long expected;
    private long next;
    private long frags;
    private long bytesNotValidated;
    private long fragsNotValidated;

    /**
     * @param validator the pattern to check, or {@code null} to check only stream continuity
     * @param limit     stop after this many stream bytes ({@link #UNLIMITED} for none)
     */
    StreamChecker(PatternValidator validator, long limit) {
        if (limit < 1) {
            throw new IllegalArgumentException("limit must be >= 1, was " + limit);
        }
        this.validator = validator;
        this.limit = limit;
    }

    @Override
    public void accept(DevmemFrag frag) {
        try {
            long pos = frag.streamPosition();
            if (pos != expected) {
                throw new DataMismatchException("frag at stream offset " + pos + " does not continue the stream at "
                        + expected + " (" + frag.kind() + ", " + frag.length() + " bytes): bytes were lost or repeated");
            }
            expected = pos + frag.length();
            long take = Math.min(frag.length(), limit - pos);
            if (take <= 0) {
                return;
            }
            if (validator != null) {
                if (frag.isHostReadable()) {
                    validator.check(frag.segment(), pos, take);
                } else {
                    bytesNotValidated += take;
                    fragsNotValidated++;
                }
            }
            frags++;
            next = pos + take;
        } finally {
            frag.release();
        }
    }

    /** Whether the byte limit is reached (the receive can stop). */
    boolean reachedLimit() {
        return next >= limit;
    }

    /** Stream bytes taken so far (at most the limit). */
    long bytes() {
        return next;
    }

    /** Frags that carried at least one byte within the limit. */
    long frags() {
        return frags;
    }

    long limit() {
        return limit;
    }

    PatternValidator validator() {
        return validator;
    }

    long bytesValidated() {
        return validator == null ? 0 : validator.bytesChecked();
    }

    /** Bytes in memory the CPU cannot read (device memory), which therefore were not validated. */
    long bytesNotValidated() {
        return bytesNotValidated;
    }

    long fragsNotValidated() {
        return fragsNotValidated;
    }
}
