package dev.devmem.reactor;

/**
 * One slice the kernel is done with: every send that carried its bytes was reported complete on the
 * socket's error queue, and its region of the {@link TxBuffer} is free again (it may already be
 * leased anew when this arrives). Emitted in the order the slices were sent.
 *
 * @param sequence     the slice's position in the stream of slices, from 0
 * @param streamOffset the TCP stream offset of the slice's first byte
 * @param offset       the slice's offset in the dmabuf
 * @param length       its length
 * @param sends        how many sendmsg calls carried it (more than one when the socket buffer filled)
 * @param copied       the kernel reported {@code SO_EE_CODE_ZEROCOPY_COPIED} for some of its sends: the
 *                     bytes were copied rather than read from the memory itself (never for device
 *                     memory; always for host memory over loopback)
 */
public record TxCompletion(long sequence, long streamOffset, long offset, long length, int sends, boolean copied) {
}
