package dev.devmem.samples.feeder.cli;

import java.util.Locale;

/** Sizes on the command line: a number with an optional k, m or g suffix (powers of 1024). */
final class Sizes {
    private Sizes() {
    }

    static long parse(String s) {
        String t = s.trim().toLowerCase(Locale.ROOT);
        long unit = 1;
        char last = t.isEmpty() ? ' ' : t.charAt(t.length() - 1);
        switch (last) {
            case 'k' -> unit = 1L << 10;
            case 'm' -> unit = 1L << 20;
            case 'g' -> unit = 1L << 30;
            default -> { }
        }
        if (unit != 1) {
            t = t.substring(0, t.length() - 1);
        }
        try {
            return Math.multiplyExact(Long.parseLong(t), unit);
        } catch (NumberFormatException | ArithmeticException e) {
            throw new IllegalArgumentException("not a size: '" + s + "' (a number with an optional k, m or g suffix)");
        }
    }
}
