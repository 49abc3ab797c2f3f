package dev.devmem.gateway.store;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.io.IOException;
import java.util.Locale;

/**
 * What a stored object is: its size and CRC32C (of all its bytes, in order), how its bytes arrived
 * (frags by kind), who sent it and how it was made durable. Published last, atomically: an object is
 * visible exactly when its manifest exists.
 *
 * @param key          object name
 * @param size         bytes
 * @param crc32c       CRC32C (Castagnoli) of the bytes, 8 lower-case hex digits
 * @param dmabufFrags  frags that came from the (emulated) dmabuf
 * @param linearFrags  frags in the host buffer because header split did not happen
 * @param hostFrags    frags of a flow without devmem (plain TCP)
 * @param peer         the sender's address
 * @param created      ISO-8601 time of the commit
 * @param target       {@code file} or {@code s3}
 * @param durability   how bytes were made durable, e.g. {@code fsync=group O_DIRECT} or {@code s3 multipart}
 * @param syncs        durability points taken (fsyncs, acknowledged parts)
 */
public record Manifest(String key, long size, String crc32c, long dmabufFrags, long linearFrags, long hostFrags,
                       String peer, String created, String target, String durability, long syncs) {

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    public static String hex(int crc) {
        return String.format(Locale.ROOT, "%08x", crc);
    }

    public byte[] toJson() {
        try {
            return JSON.writeValueAsBytes(this);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    public static Manifest fromJson(byte[] json) throws IOException {
        return JSON.readValue(json, Manifest.class);
    }

    public static String toJson(java.util.List<Manifest> all) {
        try {
            return JSON.writeValueAsString(all);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
