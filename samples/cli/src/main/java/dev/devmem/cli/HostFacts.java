package dev.devmem.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/** Facts about the host read from procfs and /dev: kernel, network namespace, privileges, exporters. */
public final class HostFacts {
    private HostFacts() {
    }

    /** CAP_NET_ADMIN is bit 12 of the capability sets. */
    private static final int CAP_NET_ADMIN = 12;

    public static String kernelRelease() {
        return read(Path.of("/proc/sys/kernel/osrelease")).orElse(System.getProperty("os.version"));
    }

    /** The inode of this process's network namespace, as {@code net:[4026531840]}. */
    public static String netnsId() {
        try {
            return Files.readSymbolicLink(Path.of("/proc/thread-self/ns/net")).toString();
        } catch (IOException | UnsupportedOperationException e) {
            return "unknown";
        }
    }

    /** The inode of the calling thread's network namespace; 0 when it cannot be read. */
    public static long netnsInode() {
        try {
            String link = Files.readSymbolicLink(Path.of("/proc/thread-self/ns/net")).toString();
            return Long.parseLong(link.substring(link.indexOf('[') + 1, link.indexOf(']')));
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    /** Whether the calling thread is in PID 1's network namespace; null when PID 1's cannot be read. */
    public static Boolean isInitialNetns() {
        try {
            return Files.readSymbolicLink(Path.of("/proc/1/ns/net")).equals(Files.readSymbolicLink(Path.of("/proc/thread-self/ns/net")));
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /**
     * The name {@code ip netns} knows this namespace by, or {@code Optional.empty()} for the initial or
     * an unnamed one. {@code ip netns exec} bind-mounts the namespace at /run/netns/NAME.
     */
    public static Optional<String> netnsName() {
        Path dir = Path.of("/run/netns");
        if (!Files.isDirectory(dir)) {
            return Optional.empty();
        }
        try (Stream<Path> names = Files.list(dir)) {
            Object self = Files.getAttribute(Path.of("/proc/thread-self/ns/net"), "unix:ino");
            for (Path p : names.toList()) {
                try {
                    if (self.equals(Files.getAttribute(p, "unix:ino"))) {
                        return Optional.of(p.getFileName().toString());
                    }
                } catch (IOException | UnsupportedOperationException ignored) {
                    // a stale mount point: not ours
                }
            }
        } catch (IOException | UnsupportedOperationException e) {
            return Optional.empty();
        }
        return Optional.empty();
    }

    /** Whether the effective capability set holds CAP_NET_ADMIN (bind-rx needs it). */
    public static boolean hasCapNetAdmin() {
        return read(Path.of("/proc/self/status")).flatMap(s -> s.lines()
                        .filter(l -> l.startsWith("CapEff:"))
                        .findFirst())
                .map(l -> (Long.parseUnsignedLong(l.substring(7).trim(), 16) >>> CAP_NET_ADMIN & 1) == 1)
                .orElse(false);
    }

    public static boolean hasUdmabuf() {
        return Files.exists(Path.of("/dev/udmabuf"));
    }

    /** Heaps under /dev/dma_heap, e.g. {@code system}. */
    public static List<String> dmaHeaps() {
        Path dir = Path.of("/dev/dma_heap");
        List<String> heaps = new ArrayList<>();
        if (Files.isDirectory(dir)) {
            try (Stream<Path> s = Files.list(dir)) {
                s.map(p -> p.getFileName().toString()).sorted().forEach(heaps::add);
            } catch (IOException ignored) {
                // unreadable: reported as none
            }
        }
        return heaps;
    }

    private static Optional<String> read(Path p) {
        try {
            return Optional.of(Files.readString(p).trim());
        } catch (IOException e) {
            return Optional.empty();
        }
    }
}
