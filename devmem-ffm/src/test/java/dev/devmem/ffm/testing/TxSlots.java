package dev.devmem.ffm.testing;

import dev.devmem.api.DevmemException;
import dev.devmem.api.spi.DevmemTxSocket;
import dev.devmem.api.spi.IoWaiter;
import dev.devmem.api.spi.Pollable;
import dev.devmem.api.spi.TxBinding;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * Sends a pattern stream from a TX binding's host view the way a careful application does: the
 * dmabuf is a ring of slots, a slot is filled with the next stream bytes, sent (a short send is
 * continued), and refilled only after every send of it is reported complete. Over the SPI only, so
 * it drives either backend.
 */
public final class TxSlots {
    /** What happened. */
    public record Result(long bytesCompleted, long sendsCompleted, long copiedSends, long slotWaits) {
    }

    private TxSlots() {
    }

    /**
     * @param receiver polled for failure while sending: a receiver that found a wrong byte stops the
     *                 sender instead of leaving it waiting for completions that never come
     */
    public static Result send(DevmemTxSocket out, TxBinding binding, IoWaiter waiter, NetcatPattern pattern,
                              long total, int slot, int slots, Future<?> receiver) throws Exception {
        MemorySegment view = binding.hostView().orElseThrow();
        if ((long) slot * slots > view.byteSize()) {
            throw new IllegalArgumentException(slots + " slots of " + slot + " bytes exceed the dmabuf");
        }
        int[] inFlight = new int[slots];
        long[] done = new long[3];
        long pos = 0;
        long inSlot = 0;
        int next = 0;
        long waits = 0;
        Pollable[] one = {out};
        while (done[0] < total) {
            if (receiver != null && receiver.isDone()) {
                receiver.get(); // a failed receiver throws here
                if (done[0] < total) {
                    throw new AssertionError("the receiver finished before the sender: " + done[0] + " of " + total);
                }
            }
            boolean progress = false;
            if (pos < total && inSlot == 0 && inFlight[next] > 0) {
                waits++;
            }
            if (pos < total && (inSlot > 0 || inFlight[next] == 0)) {
                long len = Math.min(slot, total - (pos - inSlot)) - inSlot;
                if (inSlot == 0) {
                    pattern.fill(view.asSlice((long) next * slot, len), pos);
                }
                long r = out.send(binding, (long) next * slot + inSlot, len, next);
                if (r > 0) {
                    progress = true;
                    inFlight[next]++;
                    pos += r;
                    inSlot += r;
                    if (r == len) {
                        next = (next + 1) % slots;
                        inSlot = 0;
                    }
                }
            }
            int n = out.pollCompletions((tag, bytes, copied) -> {
                inFlight[(int) tag]--;
                done[0] += bytes;
                done[1]++;
                if (copied) {
                    done[2]++;
                }
            });
            if (!progress && n == 0) {
                waiter.await(one, 1, TimeUnit.MILLISECONDS.toNanos(200));
            }
        }
        return new Result(done[0], done[1], done[2], waits);
    }

    /** Sends without throwing checked exceptions' wrappers: for lambdas. */
    public static Result sendUnchecked(DevmemTxSocket out, TxBinding binding, IoWaiter waiter, NetcatPattern pattern,
                                       long total, int slot, int slots, Future<?> receiver) {
        try {
            return send(out, binding, waiter, pattern, total, slot, slots, receiver);
        } catch (DevmemException e) {
            throw new IllegalStateException(e);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
