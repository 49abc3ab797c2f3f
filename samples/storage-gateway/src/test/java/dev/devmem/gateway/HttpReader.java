package dev.devmem.gateway;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.zip.CRC32C;

/** A reader of the gateway's HTTP side, with the JDK's client: what a consumer of the objects does. */
final class HttpReader {
    private final HttpClient client = HttpClient.newHttpClient();
    private final String base;

    HttpReader(InetSocketAddress http) {
        this.base = "http://" + http.getAddress().getHostAddress() + ":" + http.getPort();
    }

    HttpResponse<byte[]> get(String path, String range) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path));
        if (range != null) {
            b.header("Range", range);
        }
        return client.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    String getString(String path) throws IOException, InterruptedException {
        return new String(get(path, null).body(), java.nio.charset.StandardCharsets.UTF_8);
    }

    static String crc32c(byte[] body) {
        CRC32C c = new CRC32C();
        c.update(body);
        return String.format("%08x", (int) c.getValue());
    }
}
