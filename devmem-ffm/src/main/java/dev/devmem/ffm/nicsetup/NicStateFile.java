package dev.devmem.ffm.nicsetup;

import dev.devmem.api.DevmemException;
import dev.devmem.api.Errno;
import dev.devmem.api.SyscallException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * The record of one interface's setup, kept at {@code <stateDir>/net-<netns inode>/<ifname>.json}
 * for as long as the setup is in place. It names the owning process (pid and start time, so a
 * recycled pid is not mistaken for the owner) and every change, written <em>before</em> the change
 * is made ("pending") and marked "done" after. A process that dies with its setup in place leaves
 * the file behind; {@link DevmemNicSetup#cleanupStale} reads it and takes the changes back.
 *
 * <p>The file is also the lock: it is created exclusively (a complete temporary file hard-linked into
 * place), so two setups of one interface cannot interleave. Interface names are per network
 * namespace, hence the namespace directory.
 */
final class NicStateFile {
    static final String FORMAT = "devmem-nic-setup/1";

    /** One change as recorded. */
    record Entry(NicChange change, boolean done) {
    }

    /** A state file's content. */
    record Content(long pid, OptionalLong pidStartTicks, long netns, String ifname, int ifindex, String started,
                   List<Entry> entries) {
    }

    private final Path file;
    private final Content header;

    private NicStateFile(Path file, Content header) {
        this.file = file;
        this.header = header;
    }

    static Path namespaceDir(Path stateDir, long netns) {
        return stateDir.resolve("net-" + netns);
    }

    static Path fileFor(Path stateDir, long netns, String ifname) {
        return namespaceDir(stateDir, netns).resolve(ifname + ".json");
    }

    Path path() {
        return file;
    }

    /**
     * Creates the file for this process, exclusively. {@link FileAlreadyExistsException} when another
     * setup of the interface holds it (or left it behind).
     */
    static NicStateFile create(Path stateDir, long netns, String ifname, int ifindex)
            throws DevmemException, FileAlreadyExistsException {
        Path dir = namespaceDir(stateDir, netns);
        Path target = dir.resolve(ifname + ".json");
        ProcessIdentity me = ProcessIdentity.self();
        Content c = new Content(me.pid(), me.startTicks(), netns, ifname, ifindex, Instant.now().toString(), List.of());
        try {
            Files.createDirectories(dir);
            Path tmp = Files.createTempFile(dir, "." + ifname + ".", ".tmp");
            try {
                Files.writeString(tmp, Json.write(toJson(c)), StandardCharsets.UTF_8);
                Files.createLink(target, tmp);
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (FileAlreadyExistsException e) {
            throw e;
        } catch (IOException e) {
            throw stateError("create " + target, e);
        }
        return new NicStateFile(target, c);
    }

    /** Rewrites the file with {@code entries} (atomically: a whole new file renamed over the old). */
    void write(List<Entry> entries) throws DevmemException {
        Content c = new Content(header.pid(), header.pidStartTicks(), header.netns(), header.ifname(),
                header.ifindex(), header.started(), entries);
        writeContent(file, c);
    }

    static void writeContent(Path file, Content c) throws DevmemException {
        try {
            Path tmp = Files.createTempFile(file.getParent(), "." + c.ifname() + ".", ".tmp");
            try {
                Files.writeString(tmp, Json.write(toJson(c)), StandardCharsets.UTF_8, StandardOpenOption.WRITE);
                try {
                    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                } catch (AtomicMoveNotSupportedException e) {
                    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
                }
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            throw stateError("write " + file, e);
        }
    }

    void delete() throws DevmemException {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            throw stateError("delete " + file, e);
        }
    }

    /** Reads a state file; empty when it is gone. A file this library cannot read is an error. */
    static Optional<Content> read(Path file) throws DevmemException {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw stateError("read " + file, e);
        }
        try {
            Map<?, ?> m = (Map<?, ?>) Json.parse(text);
            if (!FORMAT.equals(m.get("format"))) {
                throw new IllegalArgumentException("format " + m.get("format") + ", expected " + FORMAT);
            }
            List<Entry> entries = new ArrayList<>();
            for (Object o : (List<?>) m.get("changes")) {
                Map<?, ?> e = (Map<?, ?>) o;
                entries.add(new Entry(NicChange.fromJson(e), "done".equals(e.get("status"))));
            }
            Long start = (Long) m.get("pidStartTicks");
            return Optional.of(new Content((Long) m.get("pid"),
                    start == null ? OptionalLong.empty() : OptionalLong.of(start), (Long) m.get("netns"),
                    (String) m.get("ifname"), ((Long) m.get("ifindex")).intValue(), (String) m.get("started"),
                    entries));
        } catch (RuntimeException e) {
            throw new DevmemException("NIC setup state file " + file + " is not one this library wrote: " + e.getMessage(), e);
        }
    }

    private static Map<String, Object> toJson(Content c) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("format", FORMAT);
        m.put("pid", c.pid());
        m.put("pidStartTicks", c.pidStartTicks().isPresent() ? (Object) c.pidStartTicks().getAsLong() : null);
        m.put("netns", c.netns());
        m.put("ifname", c.ifname());
        m.put("ifindex", (long) c.ifindex());
        m.put("started", c.started());
        List<Object> changes = new ArrayList<>();
        for (Entry e : c.entries()) {
            changes.add(NicChange.toJson(e.change(), e.done()));
        }
        m.put("changes", changes);
        return m;
    }

    private static DevmemException stateError(String what, IOException e) {
        Errno errno = e instanceof java.nio.file.AccessDeniedException ? Errno.EACCES : Errno.EIO;
        return new SyscallException("NIC setup state: " + what, errno,
                e.getClass().getSimpleName() + " " + e.getMessage() + " (the state directory must be writable; "
                        + "/run/devmem needs root)");
    }
}
