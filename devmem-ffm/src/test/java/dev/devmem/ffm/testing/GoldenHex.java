package dev.devmem.ffm.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * Bytes the real kernel sent, recorded as hex under {@code src/test/resources} (see
 * {@code GoldenCapture}): {@code #} comment lines, {@code # request HEX} for what was sent, then one
 * received netlink message per line.
 *
 * @param request  the request's bytes (flags and sequence number zero), or empty
 * @param messages the messages received, in order
 */
public record GoldenHex(String name, byte[] request, List<byte[]> messages) {

    public static GoldenHex load(String resource) {
        try (InputStream in = GoldenHex.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalArgumentException("no test resource " + resource);
            }
            byte[] request = new byte[0];
            List<byte[]> messages = new ArrayList<>();
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().toList()) {
                String l = line.strip();
                if (l.startsWith("# request ")) {
                    request = HexFormat.of().parseHex(l.substring("# request ".length()));
                } else if (!l.isEmpty() && !l.startsWith("#")) {
                    messages.add(HexFormat.of().parseHex(l));
                }
            }
            return new GoldenHex(resource, request, List.copyOf(messages));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public byte[] message(int i) {
        return messages.get(i).clone();
    }

    public String requestHex() {
        return HexFormat.of().formatHex(request);
    }
}
