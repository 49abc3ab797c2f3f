package dev.devmem.cli;

import picocli.CommandLine;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Byte sizes on the command line ({@code 64M}, {@code 1G}, {@code 4096}) and for people ({@code 64.0 MiB}). */
final class Sizes {
    private Sizes() {
    }

    static final long KIB = 1024;
    static final long MIB = KIB * 1024;
    static final long GIB = MIB * 1024;
    static final long TIB = GIB * 1024;

    private static final Pattern SIZE = Pattern.compile("(\\d+)\\s*([kmgt]?)(i?b)?", Pattern.CASE_INSENSITIVE);

    /**
     * A whole number of bytes with an optional binary suffix: K, M, G, T (also KiB, MiB, ...; KB means
     * KiB too, as for {@code head -c}). Case does not matter.
     *
     * @throws IllegalArgumentException saying what is accepted
     */
    static long parse(String text) {
        Matcher m = SIZE.matcher(text.trim());
        if (!m.matches()) {
            throw new IllegalArgumentException("'" + text + "' is not a size: use a whole number of bytes with an "
                    + "optional K, M, G or T suffix (powers of 1024), e.g. 64M");
        }
        long unit = switch (m.group(2).toLowerCase(Locale.ROOT)) {
            case "k" -> KIB;
            case "m" -> MIB;
            case "g" -> GIB;
            case "t" -> TIB;
            default -> 1;
        };
        if (m.group(3) != null && unit == 1 && !m.group(3).equalsIgnoreCase("b")) {
            throw new IllegalArgumentException("'" + text + "' is not a size: 'iB' needs K, M, G or T before it");
        }
        try {
            return Math.multiplyExact(Long.parseLong(m.group(1)), unit);
        } catch (ArithmeticException | NumberFormatException e) {
            throw new IllegalArgumentException("'" + text + "' is too large");
        }
    }

    /** picocli converter for {@link #parse}: a positive size. */
    static final class Converter implements CommandLine.ITypeConverter<Long> {
        @Override
        public Long convert(String value) {
            long v;
            try {
                v = parse(value);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
            if (v < 1) {
                throw new CommandLine.TypeConversionException("'" + value + "': the size must be at least 1 byte");
            }
            return v;
        }
    }

    /** picocli converter for {@link #parse}: a stream offset, 0 allowed. */
    static final class OffsetConverter implements CommandLine.ITypeConverter<Long> {
        @Override
        public Long convert(String value) {
            try {
                return parse(value);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }

    /** {@code 64.0 MiB}, {@code 512 B}. */
    static String human(long bytes) {
        if (bytes < KIB) {
            return bytes + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
        double v = bytes;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
    }

    /** Bits per second for people, e.g. {@code 9.87 Gbit/s}. */
    static String bitRate(double bytesPerSecond) {
        double bits = bytesPerSecond * 8;
        if (bits >= 1e9) {
            return String.format(Locale.ROOT, "%.2f Gbit/s", bits / 1e9);
        }
        if (bits >= 1e6) {
            return String.format(Locale.ROOT, "%.1f Mbit/s", bits / 1e6);
        }
        return String.format(Locale.ROOT, "%.0f kbit/s", bits / 1e3);
    }
}
