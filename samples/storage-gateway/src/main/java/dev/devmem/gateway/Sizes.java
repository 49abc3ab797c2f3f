package dev.devmem.gateway;

import java.util.Locale;

/** Sizes on the command line: a number with an optional K, M, G or T suffix (powers of 1024). */
final class Sizes {
    private Sizes() {
    }

    static long parse(String s) {
        String t = s.trim().toUpperCase(Locale.ROOT);
        if (t.endsWith("B")) {
            t = t.substring(0, t.length() - 1);
        }
        int shift = 0;
        if (!t.isEmpty()) {
            switch (t.charAt(t.length() - 1)) {
                case 'K' -> shift = 10;
                case 'M' -> shift = 20;
                case 'G' -> shift = 30;
                case 'T' -> shift = 40;
                default -> { }
            }
        }
        if (shift > 0) {
            t = t.substring(0, t.length() - 1);
        }
        try {
            return Long.parseLong(t) << shift;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not a size: '" + s + "' (a number with an optional K, M, G or T)");
        }
    }
}
