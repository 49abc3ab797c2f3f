package dev.devmem.cli;

/** Received data broke the expected pattern; the message names the stream offset. */
public final class DataMismatchException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public DataMismatchException(String message) {
        super(message);
    }
}
