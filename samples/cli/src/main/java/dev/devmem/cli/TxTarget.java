package dev.devmem.cli;

import dev.devmem.api.DevmemException;
import dev.devmem.api.spi.DevmemBackend;
import dev.devmem.ffm.DevmemBackends;
import dev.devmem.ffm.emulated.EmulatedBackend;
import dev.devmem.ffm.emulated.EmulatedNicConfig;
import dev.devmem.reactor.DevmemSender;

import java.nio.file.Path;
import picocli.CommandLine;

/**
 * Where {@code devmem send} sends devmem TX from, and the rules that turn its options into a backend
 * and a TX binding:
 *
 * <ul>
 *   <li>{@code --dmabuf emulated}: the emulated devmem NIC ({@code --iface}, default {@code emu0}; its
 *       driver refuses devmem TX with {@code --no-netmem-tx}), sending over a real TCP connection.</li>
 *   <li>{@code --dmabuf udmabuf|dma-heap|cuda|fd:N} (or {@code --iface} alone: udmabuf): the Linux
 *       backend, bind-tx on {@code --iface}, which is required.</li>
 * </ul>
 */
final class TxTarget {
    final boolean emulated;
    final DmabufChoice dmabuf;
    final String iface;
    final long dmabufSize;
    final long slice;
    final long maxInFlight;
    final boolean copyFallback;
    final boolean noNetmemTx;

    private TxTarget(boolean emulated, DmabufChoice dmabuf, String iface, long dmabufSize, long slice, long maxInFlight,
                     boolean copyFallback, boolean noNetmemTx) {
        this.emulated = emulated;
        this.dmabuf = dmabuf;
        this.iface = iface;
        this.dmabufSize = dmabufSize;
        this.slice = slice;
        this.maxInFlight = maxInFlight;
        this.copyFallback = copyFallback;
        this.noNetmemTx = noNetmemTx;
    }

    /**
     * Applies the rules to a dmabuf choice other than none, or throws a
     * {@link CommandLine.ParameterException} (exit 2) saying which options do not go together.
     */
    static TxTarget resolve(CommandLine cl, DmabufChoice d, String iface, Long dmabufSize, Long slice,
                            Long maxInFlight, boolean copyFallback, boolean noNetmemTx) {
        if (d.kind() == DmabufChoice.Kind.NONE) {
            throw new IllegalArgumentException("plain TCP has no TX target");
        }
        boolean emulated = d.kind() == DmabufChoice.Kind.EMULATED;
        String name = iface;
        if (emulated) {
            if (name == null) {
                name = EmulatedNicConfig.defaults().interfaceName();
            }
        } else {
            if (name == null) {
                throw usage(cl, "--dmabuf " + d + " is bound for TX to the interface the flow leaves through: it "
                        + "needs --iface NAME (or use --dmabuf emulated for the emulated devmem NIC)");
            }
            if (noNetmemTx) {
                throw usage(cl, "--no-netmem-tx is a knob of the emulated NIC (--dmabuf emulated); a real driver "
                        + "answers for itself");
            }
        }
        if (name.isBlank() || name.length() > 15) {
            throw usage(cl, "--iface '" + name + "': an interface name has 1 to 15 characters");
        }
        long size = dmabufSize == null ? SendCommand.DEFAULT_DMABUF_SIZE : dmabufSize;
        if (size < 1) {
            throw usage(cl, "--dmabuf-size " + size + ": a dmabuf has at least one byte");
        }
        long sliceBytes = slice == null ? Math.min(SendCommand.DEFAULT_SLICE, size) : slice;
        if (sliceBytes < 1 || sliceBytes > size) {
            throw usage(cl, "--slice " + sliceBytes + ": a slice is 1 byte to the dmabuf's " + size
                    + " (--dmabuf-size); it is one contiguous region of the dmabuf");
        }
        long cap = maxInFlight == null ? DevmemSender.Defaults.MAX_IN_FLIGHT_BYTES : maxInFlight;
        if (cap < 1) {
            throw usage(cl, "--max-in-flight " + cap + ": at least one byte");
        }
        return new TxTarget(emulated, d, name, size, sliceBytes, cap, copyFallback, noNetmemTx);
    }

    private static CommandLine.ParameterException usage(CommandLine cl, String message) {
        return new CommandLine.ParameterException(cl, message);
    }

    /** The emulated NIC for {@code --dmabuf emulated}: named {@code --iface}, devmem TX unless {@code --no-netmem-tx}. */
    EmulatedNicConfig emulatedConfig() {
        return EmulatedNicConfig.defaults().withInterfaceName(iface).withNetmemTx(!noNetmemTx);
    }

    /** A backend to use and close; binding through the daemon at {@code binder} unless it is null. */
    ReceiveTarget.Opened open(Path binder) throws DevmemException {
        if (binder != null) {
            return ReceiveTarget.Opened.of(emulated ? DevmemBackends.emulatedViaBinder(binder, emulatedConfig())
                    : DevmemBackends.linuxViaBinder(binder));
        }
        if (emulated) {
            EmulatedBackend b = DevmemBackends.emulated(emulatedConfig());
            return new ReceiveTarget.Opened(b, b::close);
        }
        return new ReceiveTarget.Opened(DevmemBackends.linux(), () -> {
        });
    }

    /** The sender's setup on {@code backend}. */
    TxPatternSender.Setup setup(DevmemBackend backend) {
        return new TxPatternSender.Setup(backend, iface, dmabuf.source(dmabufSize), dmabuf.toString(), copyFallback,
                slice, maxInFlight);
    }
}
