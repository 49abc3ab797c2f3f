package dev.devmem.samples.feeder;

import dev.devmem.api.DevmemException;
import dev.devmem.samples.feeder.cuda.CudaGpu;

import java.util.Locale;

/**
 * Which gather device to use. {@link Kind#AUTO} takes CUDA when the driver loads and the device
 * exists, and otherwise the host, keeping the reason CUDA was not used so that it can be reported.
 *
 * @param kind        the device picked: {@link Kind#CUDA} or {@link Kind#HOST}
 * @param gpu         the opened GPU when CUDA was picked (the caller closes it), else null
 * @param cudaAbsence why CUDA is not used (null when it is, or when the host was asked for)
 */
public record DeviceChoice(Kind kind, CudaGpu gpu, String cudaAbsence) {

    public enum Kind {
        AUTO, CUDA, HOST;

        public static Kind parse(String s) {
            return valueOf(s.toUpperCase(Locale.ROOT));
        }
    }

    /** Resolves {@code wanted}; asking for CUDA explicitly where it cannot be had fails with the reason. */
    public static DeviceChoice select(Kind wanted, int cudaDevice) throws DevmemException {
        return switch (wanted) {
            case HOST -> new DeviceChoice(Kind.HOST, null, null);
            case CUDA -> new DeviceChoice(Kind.CUDA, CudaGpu.open(cudaDevice), null);
            case AUTO -> {
                try {
                    yield new DeviceChoice(Kind.CUDA, CudaGpu.open(cudaDevice), null);
                } catch (DevmemException e) { // unsupported, or a driver call that failed: either way, the host
                    yield new DeviceChoice(Kind.HOST, null, e.getMessage());
                }
            }
        };
    }

    /** One line for the log: what gathers, and why not CUDA when it is not. */
    public String describe() {
        if (kind == Kind.CUDA) {
            return "gather device: cuda:" + gpu.device() + " " + gpu.name()
                    + (gpu.dmabufSupported() ? "" : " (no dma-buf export: LINEAR/host pieces only)");
        }
        return "gather device: host" + (cudaAbsence == null ? " (asked for)" : " (CUDA not used: " + cudaAbsence + ")");
    }
}
