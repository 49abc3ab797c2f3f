package dev.devmem.gateway.store;

import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Objects as files in one directory: {@code KEY.data} holds the bytes, {@code KEY.manifest.json}
 * says the object is whole. The manifest is written last and atomically (temp file, fsync, rename,
 * fsync of the directory), so an object is visible exactly when its manifest exists. Opening the
 * store removes what a crash left: data files without a manifest, temp manifests.
 *
 * <p>Data is written with positional {@link FileChannel} writes straight from the frag's memory, or
 * with {@code O_DIRECT} where the filesystem takes it ({@link DirectIo}); see {@link BufferedFileSink}
 * and {@link DirectFileSink}.
 */
public final class FileObjectStore implements ObjectStore {
    static final String DATA = ".data";
    static final String MANIFEST = ".manifest.json";
    static final String TEMP = ".tmp";
    private static final Pattern KEY = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,199}");

    private final Path dir;
    private final boolean direct;
    private final String directNote;
    private final int removedAtOpen;

    private FileObjectStore(Path dir, boolean direct, String directNote, int removedAtOpen) {
        this.dir = dir;
        this.direct = direct;
        this.directNote = directNote;
        this.removedAtOpen = removedAtOpen;
    }

    /**
     * Opens (creating) the store in {@code dir}, removes what an interrupted write left, and decides
     * on O_DIRECT: {@code ON} fails here if the filesystem refuses it, {@code AUTO} falls back to the
     * page cache and says why in {@link #describe()}.
     */
    public static FileObjectStore open(Path dir, DirectIo.Mode mode) throws IOException {
        Files.createDirectories(dir);
        int removed = recover(dir);
        boolean direct = false;
        String note;
        if (mode == DirectIo.Mode.OFF) {
            note = "page cache (O_DIRECT off)";
        } else {
            DirectIo probe = DirectIo.probe(dir);
            if (probe.supported()) {
                direct = true;
                note = "O_DIRECT";
            } else if (mode == DirectIo.Mode.ON) {
                throw new StoreException("(store)", "O_DIRECT was asked for but " + dir + " refuses it: " + probe.reason(), null);
            } else {
                note = "page cache (O_DIRECT refused here: " + probe.reason() + ")";
            }
        }
        return new FileObjectStore(dir, direct, note, removed);
    }

    /** Deletes data files that have no manifest and temp manifests: the leftovers of a crash. */
    private static int recover(Path dir) throws IOException {
        int removed = 0;
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                String name = p.getFileName().toString();
                boolean orphan = name.endsWith(TEMP)
                        || name.endsWith(DATA) && !Files.exists(dir.resolve(
                        name.substring(0, name.length() - DATA.length()) + MANIFEST));
                if (orphan) {
                    Files.deleteIfExists(p);
                    removed++;
                }
            }
        }
        if (removed > 0) {
            fsyncDirectory(dir);
        }
        return removed;
    }

    public Path directory() {
        return dir;
    }

    public boolean directIo() {
        return direct;
    }

    /** Leftovers of an interrupted run removed when the store opened. */
    public int removedAtOpen() {
        return removedAtOpen;
    }

    @Override
    public String describe() {
        return "file store " + dir + ", " + directNote;
    }

    @Override
    public ObjectSink create(String key) throws IOException {
        checkKey(key);
        Path data = dir.resolve(key + DATA);
        return direct ? DirectFileSink.create(this, key, data) : BufferedFileSink.create(this, key, data);
    }

    static void checkKey(String key) {
        if (!KEY.matcher(key).matches()) {
            throw new IllegalArgumentException("an object key is 1-200 of [A-Za-z0-9._-], not starting with . or -; was '"
                    + key + "'");
        }
    }

    /** Step two of a commit, after the data is fsynced: the manifest, atomically. */
    void publish(Manifest manifest) throws IOException {
        Path tmp = dir.resolve(manifest.key() + MANIFEST + TEMP);
        Path fin = dir.resolve(manifest.key() + MANIFEST);
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.wrap(manifest.toJson());
            while (b.hasRemaining()) {
                ch.write(b);
            }
            ch.force(true);
        } catch (IOException e) {
            Files.deleteIfExists(tmp);
            throw Failures.typed(manifest.key(), "writing the manifest", e);
        }
        try {
            Files.move(tmp, fin, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.deleteIfExists(tmp);
            throw new StoreException(manifest.key(), "this filesystem cannot rename atomically", e);
        }
        fsyncDirectory(dir);
    }

    static void fsyncDirectory(Path dir) throws IOException {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        }
    }

    @Override
    public List<Manifest> list() throws IOException {
        List<Manifest> all = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                if (p.getFileName().toString().endsWith(MANIFEST)) {
                    try {
                        all.add(Manifest.fromJson(Files.readAllBytes(p)));
                    } catch (NoSuchFileException raced) {
                        // deleted while listing
                    }
                }
            }
        }
        all.sort(Comparator.comparing(Manifest::created).thenComparing(Manifest::key));
        return all;
    }

    @Override
    public Optional<Manifest> manifest(String key) throws IOException {
        if (!KEY.matcher(key).matches()) {
            return Optional.empty();
        }
        Path p = dir.resolve(key + MANIFEST);
        try {
            return Optional.of(Manifest.fromJson(Files.readAllBytes(p)));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
    }

    @Override
    public Optional<Path> localFile(String key) {
        return KEY.matcher(key).matches() ? Optional.of(dir.resolve(key + DATA)) : Optional.empty();
    }

    @Override
    public Publisher<ByteBuffer> read(String key, long from, long count) {
        return Flux.using(() -> FileChannel.open(dir.resolve(key + DATA), StandardOpenOption.READ),
                ch -> Flux.generate(() -> from, (pos, sink) -> {
                    long end = from + count;
                    if (pos >= end) {
                        sink.complete();
                        return pos;
                    }
                    ByteBuffer b = ByteBuffer.allocate((int) Math.min(1 << 16, end - pos));
                    try {
                        int n = ch.read(b, pos);
                        if (n < 0) {
                            sink.error(new IOException("object " + key + " is shorter than its manifest says"));
                            return pos;
                        }
                        sink.next(b.flip());
                        return pos + n;
                    } catch (IOException e) {
                        sink.error(e);
                        return pos;
                    }
                }), ch -> {
                    try {
                        ch.close();
                    } catch (IOException ignored) {
                        // read-only channel
                    }
                });
    }

    @Override
    public void close() {
        // nothing held: every sink owns its own file
    }
}
