package dev.devmem.api.spi;

/**
 * Counters of one {@link DevmemTxSocket} since it was opened.
 *
 * @param sends            sendmsg calls that took bytes; each got one send number
 * @param bytesSent        bytes those calls took
 * @param partialSends     sends that took fewer bytes than asked (the socket buffer filled)
 * @param wouldBlock       sends that took nothing (EAGAIN, or ENOBUFS while sends were outstanding)
 * @param notices          completion notifications read from the error queue (each may cover a
 *                         merged range of send numbers)
 * @param completedSends   sends completed
 * @param completedBytes   bytes of the completed sends
 * @param copiedSends      completed sends whose notification carried the COPIED code
 * @param outstandingSends sends not yet completed
 * @param outstandingBytes bytes of the sends not yet completed
 */
public record TxStats(long sends, long bytesSent, long partialSends, long wouldBlock, long notices,
                      long completedSends, long completedBytes, long copiedSends, long outstandingSends,
                      long outstandingBytes) {
}
