package dev.devmem.ffm.bindd;

/**
 * A request or reply broke the bindd wire protocol (see {@link Wire}): a length out of bounds, a
 * version this side does not speak, an unknown type, a field out of range, bytes left over. The
 * daemon answers it with a protocol error and closes the connection, since the stream can no
 * longer be trusted to be in step.
 */
final class WireException extends Exception {
    private static final long serialVersionUID = 1L;

    WireException(String message) {
        super(message, null, false, false); // thrown per bad input: the message is all there is to it
    }
}
