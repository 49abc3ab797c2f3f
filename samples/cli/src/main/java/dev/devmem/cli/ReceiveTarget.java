package dev.devmem.cli;

import dev.devmem.api.DevmemException;
import dev.devmem.api.RxBindingSpec;
import dev.devmem.api.spi.DevmemBackend;
import dev.devmem.ffm.DevmemBackends;
import dev.devmem.ffm.bindd.BinderBackend;
import dev.devmem.ffm.emulated.EmulatedBackend;
import dev.devmem.ffm.emulated.EmulatedNicConfig;
import dev.devmem.ffm.emulated.FlowSteering;
import dev.devmem.reactor.NicSetup;
import picocli.CommandLine;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * The options {@code recv} and {@code demo} share to say where to receive: which backend, which
 * interface and rx queues, which dmabuf; and the rules that turn them into a backend and a binding.
 *
 * <ul>
 *   <li>{@code --dmabuf emulated} or {@code --backend emulated}: the emulated devmem NIC over real
 *       loopback TCP. It binds its queue(s) (default {@code emu0}, queue 0) and steers every accepted
 *       flow to them.</li>
 *   <li>{@code --dmabuf udmabuf|dma-heap|cuda}: the Linux backend; bind-rx on {@code --iface} and
 *       {@code --queues} (both required). With {@code --iface} and no {@code --dmabuf}: udmabuf, as
 *       ncdevmem does.</li>
 *   <li>Neither {@code --dmabuf} nor {@code --iface}: plain TCP through the Linux backend (HOST frags).</li>
 * </ul>
 */
final class ReceiveTarget {

    enum Backend { AUTO, LINUX, EMULATED }

    static final class BackendConverter implements CommandLine.ITypeConverter<Backend> {
        @Override
        public Backend convert(String value) {
            try {
                return Backend.valueOf(value.trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException("'" + value + "' is not a backend: use linux or emulated");
            }
        }
    }

    /** The {@code --progress} choice. */
    enum ProgressMode { AUTO, ALWAYS, NEVER }

    static final class ProgressConverter implements CommandLine.ITypeConverter<ProgressMode> {
        @Override
        public ProgressMode convert(String value) {
            try {
                return ProgressMode.valueOf(value.trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException("'" + value + "': use auto, always or never");
            }
        }
    }

    /** The shared options, mixed into {@code recv} and {@code demo}. */
    static final class Options {
        @Option(names = "--backend", paramLabel = "linux|emulated", converter = BackendConverter.class,
                description = "The backend. Default: emulated with --dmabuf emulated, else linux.")
        Backend backend = Backend.AUTO;

        @Option(names = "--iface", paramLabel = "NAME",
                description = "The interface whose rx queues to bind (emulated: the emulated NIC's name, default emu0).")
        String iface;

        @Option(names = "--queues", paramLabel = "LIST", converter = QueueList.Converter.class,
                description = "Rx queues to bind: 15, 14,15 or 12-15 (emulated: default 0).")
        QueueList queues;

        @Option(names = "--dmabuf", paramLabel = "SOURCE", converter = DmabufChoice.Converter.class,
                description = "Device memory: none, udmabuf, dma-heap[:HEAP], cuda[:DEVICE], fd:N (an inherited dmabuf fd) "
                        + "or emulated. "
                        + "Default: udmabuf with --iface on linux, emulated on the emulated backend, else none (plain TCP).")
        DmabufChoice dmabuf;

        @Option(names = "--dmabuf-size", paramLabel = "SIZE", converter = Sizes.Converter.class, defaultValue = "64M",
                description = "Size of the dmabuf to bind (default ${DEFAULT-VALUE}; udmabuf caps it at its size_limit_mb, 64 MiB by default).")
        long dmabufSize;

        @Option(names = "--header-split-failures", paramLabel = "RATE",
                description = "Emulated NIC only: the fraction of packets whose header split fails, so their first "
                        + "bytes arrive as LINEAR frags (seeded, repeatable).")
        Double headerSplitFailures;

        @Option(names = "--setup-nic",
                description = "Prepare the NIC before binding (header split, RSS, flow rule) and undo it after, "
                        + "through the receiver's NicSetup hook.")
        boolean setupNic;

        @Option(names = "--progress", paramLabel = "auto|always|never", converter = ProgressConverter.class,
                defaultValue = "auto",
                description = "The live progress line on stderr: auto draws it on a terminal only (default ${DEFAULT-VALUE}).")
        ProgressMode progress;

        boolean progressEnabled() {
            return switch (progress) {
                case ALWAYS -> true;
                case NEVER -> false;
                case AUTO -> Progress.isTerminal();
            };
        }
    }

    final Backend backend;
    final DmabufChoice dmabuf;
    final String iface;
    final List<Integer> queues;
    final long dmabufSize;
    final double headerSplitFailures;
    final boolean setupNic;

    private ReceiveTarget(Backend backend, DmabufChoice dmabuf, String iface, List<Integer> queues, long dmabufSize,
                          double headerSplitFailures, boolean setupNic) {
        this.backend = backend;
        this.dmabuf = dmabuf;
        this.iface = iface;
        this.queues = queues;
        this.dmabufSize = dmabufSize;
        this.headerSplitFailures = headerSplitFailures;
        this.setupNic = setupNic;
    }

    /**
     * Applies the rules, or throws a {@link CommandLine.ParameterException} (exit 2) naming the options
     * that do not go together.
     *
     * @param defaultSplitFailures the header-split failure rate on the emulated NIC when not given
     */
    static ReceiveTarget resolve(CommandLine cl, Options o, double defaultSplitFailures) {
        boolean emulated = o.backend == Backend.EMULATED
                || (o.dmabuf != null && o.dmabuf.kind() == DmabufChoice.Kind.EMULATED);
        if (o.backend == Backend.LINUX && emulated) {
            throw usage(cl, "--dmabuf emulated is the emulated NIC's memory; it needs --backend emulated, not linux");
        }
        if (emulated) {
            if (o.dmabuf != null && o.dmabuf.kind() != DmabufChoice.Kind.EMULATED) {
                throw usage(cl, "the emulated NIC binds its own memory: use --dmabuf emulated (or leave --dmabuf out), not "
                        + o.dmabuf);
            }
            String iface = o.iface == null ? EmulatedNicConfig.defaults().interfaceName() : o.iface;
            if (iface.length() > 15 || iface.isBlank()) {
                throw usage(cl, "--iface '" + iface + "': an interface name has 1 to 15 characters");
            }
            double rate = o.headerSplitFailures == null ? defaultSplitFailures : o.headerSplitFailures;
            if (!(rate >= 0 && rate <= 1)) {
                throw usage(cl, "--header-split-failures " + rate + ": a fraction in [0, 1]");
            }
            List<Integer> queues = o.queues == null ? List.of(0) : o.queues.ids();
            return new ReceiveTarget(Backend.EMULATED, DmabufChoice.EMULATED, iface, queues, o.dmabufSize, rate,
                    o.setupNic);
        }
        if (o.headerSplitFailures != null) {
            throw usage(cl, "--header-split-failures is a knob of the emulated NIC (--dmabuf emulated)");
        }
        DmabufChoice d = o.dmabuf != null ? o.dmabuf : o.iface != null ? DmabufChoice.UDMABUF : DmabufChoice.NONE;
        if (d.kind() == DmabufChoice.Kind.NONE) {
            if (o.iface != null || o.queues != null) {
                throw usage(cl, "--iface and --queues say where to bind a dmabuf; with --dmabuf none nothing is bound "
                        + "(leave them out for plain TCP, or name a --dmabuf)");
            }
            if (o.setupNic) {
                throw usage(cl, "--setup-nic prepares the NIC of a binding: it needs --iface, --queues and a --dmabuf");
            }
            return new ReceiveTarget(Backend.LINUX, d, null, List.of(), o.dmabufSize, 0, false);
        }
        if (o.iface == null || o.queues == null) {
            throw usage(cl, "--dmabuf " + d + " binds rx queues of a real NIC: it needs --iface NAME and --queues LIST "
                    + "(or use --dmabuf emulated for the emulated NIC)");
        }
        return new ReceiveTarget(Backend.LINUX, d, o.iface, o.queues.ids(), o.dmabufSize, 0, o.setupNic);
    }

    private static CommandLine.ParameterException usage(CommandLine cl, String message) {
        return new CommandLine.ParameterException(cl, message);
    }

    /** What subscribing binds, or {@code null} for plain TCP. */
    RxBindingSpec bindingSpec() {
        return dmabuf.kind() == DmabufChoice.Kind.NONE ? null : new RxBindingSpec(iface, queues, dmabuf.source(dmabufSize));
    }

    /** The NIC setup to hand the receiver. */
    NicSetup nicSetup() {
        return nicSetup(null);
    }

    /** The NIC setup to hand the receiver; through the daemon at {@code binder} unless it is null. */
    NicSetup nicSetup(Path binder) {
        if (!setupNic || backend == Backend.EMULATED) {
            return NicSetup.none(); // the emulated NIC's "setup" is its flow steering, part of its config
        }
        return binder == null ? CliNicSetup.forLinux() : CliNicSetup.viaBinder(binder);
    }

    /** The emulated NIC for this target: its queues up to the highest bound one, every flow steered to the bound ones. */
    EmulatedNicConfig emulatedConfig() {
        int count = Math.max(EmulatedNicConfig.defaults().rxQueues(), queues.stream().mapToInt(q -> q).max().orElse(0) + 1);
        int[] bound = queues.stream().mapToInt(q -> q).toArray();
        FlowSteering rss = FlowSteering.rss();
        FlowSteering toBound = (local, remote, n) -> bound[rss.queueFor(local, remote, bound.length)];
        return EmulatedNicConfig.defaults().withInterfaceName(iface).withRxQueues(count)
                .withHeaderSplitFailures(headerSplitFailures, 42).withFlowSteering(toBound);
    }

    /** A backend to use and close. */
    Opened open() throws DevmemException {
        return open(null);
    }

    /** A backend to use and close; binding through the daemon at {@code binder} unless it is null. */
    Opened open(Path binder) throws DevmemException {
        if (binder != null) {
            return Opened.of(backend == Backend.EMULATED ? DevmemBackends.emulatedViaBinder(binder, emulatedConfig())
                    : DevmemBackends.linuxViaBinder(binder));
        }
        if (backend == Backend.EMULATED) {
            EmulatedBackend b = DevmemBackends.emulated(emulatedConfig());
            return new Opened(b, b::close);
        }
        return new Opened(DevmemBackends.linux(), () -> {
        });
    }

    record Opened(DevmemBackend backend, Runnable closer) implements AutoCloseable {
        /** A backend that binds through devmem bindd; closing it closes its local backend (an emulated NIC). */
        static Opened of(BinderBackend b) {
            return new Opened(b, () -> {
                try {
                    b.close();
                } catch (Exception e) {
                    throw new IllegalStateException("closing " + b + ": " + e.getMessage(), e);
                }
            });
        }

        @Override
        public void close() {
            closer.run();
        }
    }

    /** One line for the status output, e.g. {@code emulated NIC emu0, rx queue 0}. */
    String describe() {
        if (dmabuf.kind() == DmabufChoice.Kind.NONE) {
            return "plain TCP through the Linux backend (HOST frags)";
        }
        return (backend == Backend.EMULATED ? "emulated NIC " : "") + iface + " rx queue" + (queues.size() == 1 ? " " : "s ")
                + ReceiveSession.join(queues) + ", " + dmabuf + " dmabuf of " + Sizes.human(dmabufSize);
    }
}
