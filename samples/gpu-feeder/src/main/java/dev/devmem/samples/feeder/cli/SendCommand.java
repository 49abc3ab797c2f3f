package dev.devmem.samples.feeder.cli;

import dev.devmem.samples.feeder.RecordFormat;
import dev.devmem.samples.feeder.RecordSender;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.Locale;
import java.util.concurrent.Callable;

/** Sends records (see {@link RecordFormat}) over plain TCP, as a data source for {@code receive}. */
@Command(name = "send", mixinStandardHelpOptions = true,
        description = "Send fixed-size records (header with index and CRC32C, deterministic payload) over TCP.")
final class SendCommand implements Callable<Integer> {
    @Option(names = "--to", defaultValue = "127.0.0.1:5301", description = "Receiver address (default ${DEFAULT-VALUE}).")
    String to;

    @Option(names = "--records", defaultValue = "16384", description = "How many records (default ${DEFAULT-VALUE}).")
    long records;

    @Option(names = "--record-size", defaultValue = "65560",
            description = "Bytes per record, header included; must match the receiver's (default ${DEFAULT-VALUE}).")
    String recordSize;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        RecordFormat format = RecordFormat.ofRecordSize(Math.toIntExact(Sizes.parse(recordSize)));
        long t0 = System.nanoTime();
        long bytes = new RecordSender(format).send(ReceiveCommand.HostPort.parse(to), records);
        double s = (System.nanoTime() - t0) / 1e9;
        spec.commandLine().getOut().printf(Locale.ROOT, "sent %d records of %d bytes (%.1f MiB) to %s in %.3f s: %.1f MiB/s%n",
                records, format.recordBytes(), bytes / 1048576.0, to, s, bytes / 1048576.0 / s);
        return 0;
    }
}
