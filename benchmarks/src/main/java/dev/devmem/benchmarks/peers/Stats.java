package dev.devmem.benchmarks.peers;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/** Order statistics of a few samples, and the number formats of the tables. */
final class Stats {
    private Stats() {
    }

    static double median(List<Double> xs) {
        double[] a = xs.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        int n = a.length;
        return n == 0 ? Double.NaN : n % 2 == 1 ? a[n / 2] : (a[n / 2 - 1] + a[n / 2]) / 2;
    }

    static double min(List<Double> xs) {
        return xs.stream().mapToDouble(Double::doubleValue).min().orElse(Double.NaN);
    }

    static double max(List<Double> xs) {
        return xs.stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN);
    }

    static String f(String format, double x) {
        return String.format(Locale.ROOT, format, x);
    }

    static String list(List<Double> xs, String format) {
        return String.join(" ", xs.stream().map(x -> f(format, x)).toList());
    }

    static double percentile(long[] sorted, double p) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        int i = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
    }

    static long[] sorted(long[] xs) {
        long[] c = xs.clone();
        Arrays.sort(c);
        return c;
    }
}
