package dev.devmem.cli;

import dev.devmem.api.DmabufSource;
import picocli.CommandLine;

import java.util.Locale;

/**
 * The {@code --dmabuf} value: where the device memory comes from. {@code none} (no binding: plain
 * TCP), {@code udmabuf} (host memory through /dev/udmabuf), {@code dma-heap[:HEAP]} (default heap
 * {@code system}), {@code cuda[:DEVICE]} (GPU memory, default device 0), {@code fd:N} (a dmabuf file
 * descriptor this process inherited, e.g. from a launcher that exported it) or {@code emulated} (the
 * emulated devmem NIC's memory).
 */
record DmabufChoice(Kind kind, String heap, int number) {

    enum Kind { NONE, UDMABUF, DMA_HEAP, CUDA, FD, EMULATED }

    static final DmabufChoice NONE = new DmabufChoice(Kind.NONE, null, 0);
    static final DmabufChoice UDMABUF = new DmabufChoice(Kind.UDMABUF, null, 0);
    static final DmabufChoice EMULATED = new DmabufChoice(Kind.EMULATED, null, 0);

    static DmabufChoice parse(String text) {
        String t = text.trim().toLowerCase(Locale.ROOT);
        int colon = t.indexOf(':');
        String name = colon < 0 ? t : t.substring(0, colon);
        String arg = colon < 0 ? null : text.trim().substring(colon + 1);
        DmabufChoice c = switch (name) {
            case "none" -> NONE;
            case "udmabuf" -> UDMABUF;
            case "emulated" -> EMULATED;
            case "dma-heap", "dmaheap", "heap" -> {
                if (arg != null && (arg.isEmpty() || arg.contains("/"))) {
                    throw new IllegalArgumentException("'" + text + "': not a DMA heap name (e.g. dma-heap:system)");
                }
                yield new DmabufChoice(Kind.DMA_HEAP, arg == null ? "system" : arg, 0);
            }
            case "cuda" -> {
                int device;
                try {
                    device = arg == null ? 0 : Integer.parseInt(arg);
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("'" + text + "': the CUDA device must be a number (e.g. cuda:0)");
                }
                if (device < 0) {
                    throw new IllegalArgumentException("'" + text + "': the CUDA device must be >= 0");
                }
                yield new DmabufChoice(Kind.CUDA, null, device);
            }
            case "fd" -> {
                int fd;
                try {
                    fd = Integer.parseInt(arg == null ? "" : arg);
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("'" + text + "': fd:N names an inherited dmabuf file descriptor (e.g. fd:3)");
                }
                if (fd < 0) {
                    throw new IllegalArgumentException("'" + text + "': a file descriptor is >= 0");
                }
                yield new DmabufChoice(Kind.FD, null, fd);
            }
            default -> throw new IllegalArgumentException("'" + text
                    + "' is not a dmabuf source: use none, udmabuf, dma-heap[:HEAP], cuda[:DEVICE], fd:N or emulated");
        };
        if (arg != null && (c.kind == Kind.NONE || c.kind == Kind.UDMABUF || c.kind == Kind.EMULATED)) {
            throw new IllegalArgumentException("'" + text + "': " + name + " takes no ':' argument");
        }
        return c;
    }

    /** The library's source for this choice; {@code null} for {@link Kind#NONE}. */
    DmabufSource source(long size) {
        return switch (kind) {
            case NONE -> null;
            case UDMABUF -> DmabufSource.udmabuf(size);
            case DMA_HEAP -> DmabufSource.dmaHeap(heap, size);
            case CUDA -> DmabufSource.cuda(number, size);
            case FD -> DmabufSource.ofFd(number, size);
            case EMULATED -> DmabufSource.emulated(size);
        };
    }

    @Override
    public String toString() {
        return switch (kind) {
            case NONE -> "none";
            case UDMABUF -> "udmabuf";
            case DMA_HEAP -> "dma-heap:" + heap;
            case CUDA -> "cuda:" + number;
            case FD -> "fd:" + number;
            case EMULATED -> "emulated";
        };
    }

    static final class Converter implements CommandLine.ITypeConverter<DmabufChoice> {
        @Override
        public DmabufChoice convert(String value) {
            try {
                return parse(value);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }
}
