package dev.devmem.cli;

import picocli.CommandLine;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/** Rx queue ids on the command line: {@code 15}, {@code 14,15}, {@code 12-15}, {@code 0,4-5}. */
record QueueList(List<Integer> ids) {

    QueueList {
        ids = List.copyOf(ids);
    }

    @Override
    public String toString() {
        return ids.toString();
    }

    static List<Integer> parse(String text) {
        Set<Integer> queues = new LinkedHashSet<>();
        for (String part : text.split(",", -1)) {
            String p = part.trim();
            if (p.isEmpty()) {
                throw new IllegalArgumentException("'" + text + "' is not a queue list (e.g. 15, 14,15 or 12-15)");
            }
            int dash = p.indexOf('-');
            int from;
            int to;
            try {
                if (dash < 0) {
                    from = to = Integer.parseInt(p);
                } else {
                    from = Integer.parseInt(p.substring(0, dash).trim());
                    to = Integer.parseInt(p.substring(dash + 1).trim());
                }
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("'" + text + "' is not a queue list (e.g. 15, 14,15 or 12-15)");
            }
            if (from < 0 || to < from || to > 65535) {
                throw new IllegalArgumentException("'" + p + "' is not a queue id or range of ids >= 0");
            }
            for (int q = from; q <= to; q++) {
                if (!queues.add(q)) {
                    throw new IllegalArgumentException("'" + text + "': queue " + q + " is listed twice");
                }
            }
        }
        return List.copyOf(new ArrayList<>(queues));
    }

    static final class Converter implements CommandLine.ITypeConverter<QueueList> {
        @Override
        public QueueList convert(String value) {
            try {
                return new QueueList(parse(value));
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }
}
