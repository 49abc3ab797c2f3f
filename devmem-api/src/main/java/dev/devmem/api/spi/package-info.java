/**
 * The platform SPI that a devmem backend implements: the Linux backend (real kernel, FFM) and the
 * emulated devmem NIC both implement it, and {@code devmem-reactor} runs unchanged on either.
 *
 * <p>Threading: a {@link dev.devmem.api.spi.DevmemSocket} is used by one I/O thread at a time
 * (receive, release, flush, close), and so is a {@link dev.devmem.api.spi.DevmemTxSocket} (send,
 * pollCompletions, close); only {@link dev.devmem.api.spi.IoWaiter#wakeup()} is meant to be called
 * from other threads.
 */
package dev.devmem.api.spi;
