package dev.devmem.samples.feeder.cli;

import java.util.Locale;

/**
 * One connection's numbers, as the receive and nio commands print them: one line for people and,
 * with {@code --json}, one JSON line for the benchmark script.
 *
 * @param mode          {@code devmem} or {@code nio-direct} / {@code nio-heap}
 * @param device        the gather device
 * @param records       records gathered and verified or passed on
 * @param batches       batches
 * @param bytes         stream bytes
 * @param nanos         first receive to last batch done
 * @param cpuNanos      process CPU time over the connection (-1 when unknown)
 * @param piecesPerRecord frags per record (devmem) or reads per record (nio)
 * @param frags         frags (devmem) or read calls (nio)
 * @param verified      records whose CRC32C was checked and right
 * @param bad           records that were wrong
 */
record RunResult(String mode, String device, long records, long batches, long bytes, long nanos, long cpuNanos,
                 double piecesPerRecord, long frags, long verified, long bad) {

    double seconds() {
        return nanos / 1e9;
    }

    double cpuSecondsPerGiB() {
        return cpuNanos < 0 || bytes == 0 ? -1 : cpuNanos / 1e9 / (bytes / (double) (1L << 30));
    }

    String line() {
        double s = Math.max(seconds(), 1e-9);
        return String.format(Locale.ROOT, "%s [%s]: %d records in %d batches, %.1f MiB in %.3f s: %.0f records/s, "
                        + "%.1f batches/s, %.1f MiB/s, %.2f %s per record, CPU %.2f s/GiB; verified %d, bad %d",
                mode, device, records, batches, bytes / 1048576.0, seconds(), records / s, batches / s,
                bytes / 1048576.0 / s, piecesPerRecord, mode.equals("devmem") ? "frags" : "reads",
                cpuSecondsPerGiB(), verified, bad);
    }

    String json() {
        double s = Math.max(seconds(), 1e-9);
        return String.format(Locale.ROOT, "{\"mode\":\"%s\",\"device\":\"%s\",\"records\":%d,\"batches\":%d,\"bytes\":%d,"
                        + "\"seconds\":%.4f,\"records_per_s\":%.1f,\"batches_per_s\":%.2f,\"mib_per_s\":%.1f,"
                        + "\"pieces_per_record\":%.3f,\"frags\":%d,\"cpu_s_per_gib\":%.3f,\"verified\":%d,\"bad\":%d}",
                mode, device.replace("\"", "'"), records, batches, bytes, seconds(), records / s, batches / s,
                bytes / 1048576.0 / s, piecesPerRecord, frags, cpuSecondsPerGiB(), verified, bad);
    }
}
