package dev.devmem.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicReference;

/**
 * {@code devmem demo}: the library end to end on any Linux host. A sender thread writes the kernel
 * documentation's netcat pattern into a real loopback TCP socket; the receiver takes it through the
 * emulated devmem NIC (DMABUF frags, and LINEAR ones where header split "fails") as
 * {@code Flux<DevmemFrag>}, validates every byte, and ends with the summary and this host's doctor
 * report.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {
                "Stream a few GiB through Flux<DevmemFrag> on the emulated devmem NIC over real",
                "loopback TCP, validate every byte, then print the summary and this host's doctor",
                "report. --tx sends as devmem TX through the same emulated NIC (emulated TX -> real",
                "TCP -> emulated RX). --backend linux --iface NAME --queues LIST runs the receive on a",
                "real NIC.",
                ""},
        footerHeading = "%nExamples:%n",
        footer = {
                "  devmem demo                  4 GiB on the emulated NIC",
                "  devmem demo --short --json   256 MiB, JSON summary (CI)",
                "  devmem demo --tx             the sender is devmem TX from an emulated dmabuf",
                "  devmem demo --backend linux --iface eth1 --queues 15 --dmabuf udmabuf",
                "",
                "Exit codes: 0 ok, 1 data error, 2 bad command line, 3 unsupported here,",
                "4 system call or kernel error, 70 bug (rerun with --verbose)."})
public final class DemoCommand implements Callable<Integer> {
    static final long DEFAULT_BYTES = 4 * Sizes.GIB;
    static final long SHORT_BYTES = 256 * Sizes.MIB;
    /** The kernel documentation's pattern: 1..6 then 0 (its {@code tr \\n \\0}). */
    static final int PERIOD = 7;
    static final int TERMINATOR = 0;
    /** Header-split failures the emulated NIC injects by default, so LINEAR frags show up. */
    static final double DEFAULT_SPLIT_FAILURES = 0.01;

    @Option(names = "--bytes", paramLabel = "SIZE", converter = Sizes.Converter.class,
            description = "How much to stream (K, M, G, T suffixes; default 4G, or 256M with --short).")
    Long bytes;

    @Option(names = "--short", description = "A short run for CI: 256 MiB unless --bytes says otherwise.")
    boolean shortRun;

    @Option(names = "--listen", paramLabel = "HOST:PORT", converter = HostPort.ListenConverter.class,
            defaultValue = "127.0.0.1:0",
            description = "Where the receiver listens and the in-process sender connects (default ${DEFAULT-VALUE}: "
                    + "loopback, a free port).")
    InetSocketAddress listen;

    @Mixin
    ReceiveTarget.Options target;

    @Option(names = "--tx",
            description = "Send as devmem TX through the emulated NIC (a DevmemSender from an emulated dmabuf, every "
                    + "completion counted) instead of a plain socket thread: emulated TX -> real TCP -> emulated RX.")
    boolean tx;

    @Option(names = "--json", description = "Print the summary (with the doctor report) as JSON (schema: docs/cli.md).")
    boolean json;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        CommandLine cl = spec.commandLine();
        if (target.backend == ReceiveTarget.Backend.AUTO
                && (target.dmabuf == null || target.dmabuf.kind() == DmabufChoice.Kind.EMULATED)
                && target.iface == null) {
            target.backend = ReceiveTarget.Backend.EMULATED;
        }
        ReceiveTarget t = ReceiveTarget.resolve(cl, target, DEFAULT_SPLIT_FAILURES);
        if (tx && t.backend != ReceiveTarget.Backend.EMULATED) {
            throw new CommandLine.ParameterException(cl, "--tx sends through the emulated NIC's devmem TX: it needs the "
                    + "emulated backend (leave out --backend linux, --iface and --dmabuf, or use --dmabuf emulated)");
        }
        long total = bytes != null ? bytes : shortRun ? SHORT_BYTES : DEFAULT_BYTES;
        PrintWriter out = cl.getOut();
        PrintWriter err = cl.getErr();
        err.printf(Locale.ROOT, "devmem demo: %s of the kernel doc's netcat pattern (1..6 then 0x00) %s over real loopback "
                        + "TCP into %s, as Flux<DevmemFrag>, every byte validated%s%n",
                Sizes.human(total), tx ? "sent as devmem TX through the emulated NIC (DevmemSender, an emulated dmabuf of "
                        + Sizes.human(t.dmabufSize) + ")" : "from a sender thread", t.describe(),
                t.backend == ReceiveTarget.Backend.EMULATED
                        ? String.format(Locale.ROOT, " (%.1f%% header-split failures: LINEAR frags)", t.headerSplitFailures * 100)
                        : "");
        err.flush();

        StreamChecker checker = new StreamChecker(new PatternValidator(PERIOD, TERMINATOR), total);
        AtomicReference<Thread> senderThread = new AtomicReference<>();
        AtomicReference<Exception> senderError = new AtomicReference<>();
        AtomicReference<PatternSender.Result> sent = new AtomicReference<>();
        AtomicReference<TxPatternSender.Tx> sentTx = new AtomicReference<>();
        ReceiveSession.Result r;
        try (ReceiveTarget.Opened opened = t.open()) {
            java.util.function.Consumer<InetSocketAddress> startSender = addr -> senderThread.set(Thread.ofPlatform()
                    .daemon().name("devmem-demo-sender").start(() -> {
                        try {
                            if (tx) {
                                TxPatternSender.Result x = new TxPatternSender("demo", new TxPatternSender.Setup(
                                        opened.backend(), t.iface, dev.devmem.api.DmabufSource.emulated(t.dmabufSize),
                                        DmabufChoice.EMULATED.toString(), false,
                                        Math.min(SendCommand.DEFAULT_SLICE, t.dmabufSize),
                                        dev.devmem.reactor.DevmemSender.Defaults.MAX_IN_FLIGHT_BYTES),
                                        PERIOD, TERMINATOR, -1, err).send(connectable(addr), total);
                                sentTx.set(x.tx());
                                sent.set(x.common());
                            } else {
                                sent.set(new PatternSender(PERIOD, TERMINATOR, -1).send(connectable(addr), total));
                            }
                        } catch (Exception e) {
                            senderError.set(e);
                        }
                    }));
            r = new ReceiveSession("demo", opened.backend(), listen, t.bindingSpec(), t.dmabuf.toString(), t.nicSetup(),
                    checker, err, target.progressEnabled(), startSender).run();
        } finally {
            Thread s = senderThread.get();
            if (s != null) {
                s.join(ReceiveSession.CLOSE_WAIT.toMillis());
                if (s.isAlive()) {
                    s.interrupt(); // a blocked SocketChannel write ends by closing the channel; a blocked send Flux is cancelled
                    s.join();
                }
            }
        }
        if (r.failure() == null && senderError.get() != null) {
            throw senderError.get();
        }
        DoctorReport doctor = DoctorProbe.run(null, dev.devmem.ffm.nicsetup.DevmemNicSetup.DEFAULT_STATE_DIR);
        if (json) {
            ObjectNode o = Reports.receiveJson("demo", r);
            o.set("sender", sent.get() == null ? null : Reports.sendJson(sent.get(), sentTx.get()));
            o.set("doctor", new com.fasterxml.jackson.databind.ObjectMapper().valueToTree(doctor));
            out.println(Reports.json(o));
        } else {
            Reports.printReceive(out, "demo", r);
            if (sent.get() != null) {
                Reports.printSend(out, sent.get(), sentTx.get());
            }
            out.println();
            printVerdict(out, doctor);
        }
        out.flush();
        if (r.failure() != null) {
            throw r.failure();
        }
        return ExitCodes.OK;
    }

    /** Where the sender connects for a listener on {@code a}: loopback when it listens on every address. */
    static InetSocketAddress connectable(InetSocketAddress a) {
        if (a.getAddress() == null || a.getAddress().isAnyLocalAddress()) {
            return new InetSocketAddress(InetAddress.getLoopbackAddress(), a.getPort());
        }
        return a;
    }

    /**
     * The doctor's verdict for this host in a few lines: can any interface here do devmem RX or TX,
     * and if not, the first reason and fix ({@code devmem doctor} has the whole report).
     */
    static void printVerdict(PrintWriter out, DoctorReport doctor) {
        out.printf("doctor: kernel %s, netdev bind-rx %s, bind-tx %s, CAP_NET_ADMIN %s%n", doctor.kernel(),
                doctor.netdevFamily().bindRx() ? "yes" : "no", doctor.netdevFamily().bindTx() ? "yes" : "no",
                doctor.capNetAdmin() ? "yes" : "no");
        List<String> rx = new java.util.ArrayList<>();
        List<String> tx = new java.util.ArrayList<>();
        DoctorReport.Verdict firstNo = null;
        for (DoctorReport.Iface i : doctor.interfaces()) {
            if ("yes".equals(i.rx().verdict())) {
                rx.add(i.name());
            } else if (firstNo == null) {
                firstNo = i.rx();
            }
            if ("yes".equals(i.tx().verdict())) {
                tx.add(i.name());
            }
        }
        out.printf("  devmem RX on this host: %s%n", rx.isEmpty() ? "no interface can" : "yes: " + String.join(", ", rx));
        out.printf("  devmem TX on this host: %s%n", tx.isEmpty() ? "no interface can" : "yes: " + String.join(", ", tx));
        if (rx.isEmpty() && firstNo != null) {
            out.printf("  why: %s%n  fix: %s%n", firstNo.reason(), firstNo.fix());
        }
        out.println("  (devmem doctor shows every interface with the kernel's answers)");
    }
}
