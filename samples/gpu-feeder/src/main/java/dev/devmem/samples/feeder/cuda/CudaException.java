package dev.devmem.samples.feeder.cuda;

import dev.devmem.api.DevmemException;

/** A CUDA driver call failed; the message names the call and the error, {@link #result()} is the CUresult. */
public final class CudaException extends DevmemException {
    private final int result;

    public CudaException(String message, int result) {
        super(message);
        this.result = result;
    }

    public int result() {
        return result;
    }
}
