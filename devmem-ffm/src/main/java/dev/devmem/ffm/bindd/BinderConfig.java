package dev.devmem.ffm.bindd;

import dev.devmem.ffm.emulated.EmulatedNicConfig;
import dev.devmem.ffm.nicsetup.DevmemNicSetup;

import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * How {@code devmem bindd} runs (see docs/security.md).
 *
 * @param socket         the Unix socket path it listens on (created; an existing socket file is replaced)
 * @param allowUids      peer uids (by {@code SO_PEERCRED}) that may bind; uid 0 always may
 * @param allowGids      peer groups (primary or supplementary) that may bind
 * @param socketMode     permission bits of the socket file, e.g. {@code 0660}: connecting needs write permission
 * @param socketGid      group of the socket file, or -1 to leave it the daemon's
 * @param maxConnections connections served at once; more are answered EBUSY and closed
 * @param emulatedNic    present: bind on the control plane of an emulated devmem NIC with this
 *                       configuration instead of the kernel (the clients then use
 *                       {@code DevmemBackends.emulatedViaBinder} with the same configuration)
 * @param nicStateDir    where the NIC setups the daemon makes for its clients are recorded while in
 *                       place ({@code /run/devmem} by default; see docs/nic-setup.md)
 */
public record BinderConfig(Path socket, Set<Integer> allowUids, Set<Integer> allowGids, int socketMode,
                           int socketGid, int maxConnections, Optional<EmulatedNicConfig> emulatedNic,
                           Path nicStateDir) {

    public static final int DEFAULT_MODE = 0660;
    public static final int DEFAULT_MAX_CONNECTIONS = 64;

    public BinderConfig {
        Objects.requireNonNull(socket, "socket");
        allowUids = Set.copyOf(Objects.requireNonNull(allowUids, "allowUids"));
        allowGids = Set.copyOf(Objects.requireNonNull(allowGids, "allowGids"));
        Objects.requireNonNull(emulatedNic, "emulatedNic");
        Objects.requireNonNull(nicStateDir, "nicStateDir");
        if ((socketMode & ~0777) != 0) {
            throw new IllegalArgumentException("socket mode must be permission bits (0..0777), was 0"
                    + Integer.toOctalString(socketMode));
        }
        if (socketGid < -1) {
            throw new IllegalArgumentException("socket gid must be >= 0 or -1, was " + socketGid);
        }
        if (maxConnections < 1) {
            throw new IllegalArgumentException("maxConnections must be >= 1, was " + maxConnections);
        }
    }

    /** Root only, mode 0660, the kernel. */
    public static BinderConfig of(Path socket) {
        return new BinderConfig(socket, Set.of(), Set.of(), DEFAULT_MODE, -1, DEFAULT_MAX_CONNECTIONS,
                Optional.empty(), DevmemNicSetup.DEFAULT_STATE_DIR);
    }

    public BinderConfig withAllowUids(Set<Integer> uids) {
        return new BinderConfig(socket, uids, allowGids, socketMode, socketGid, maxConnections, emulatedNic, nicStateDir);
    }

    public BinderConfig withAllowGids(Set<Integer> gids) {
        return new BinderConfig(socket, allowUids, gids, socketMode, socketGid, maxConnections, emulatedNic, nicStateDir);
    }

    public BinderConfig withSocketMode(int mode) {
        return new BinderConfig(socket, allowUids, allowGids, mode, socketGid, maxConnections, emulatedNic, nicStateDir);
    }

    public BinderConfig withSocketGid(int gid) {
        return new BinderConfig(socket, allowUids, allowGids, socketMode, gid, maxConnections, emulatedNic, nicStateDir);
    }

    public BinderConfig withMaxConnections(int max) {
        return new BinderConfig(socket, allowUids, allowGids, socketMode, socketGid, max, emulatedNic, nicStateDir);
    }

    public BinderConfig withEmulatedNic(EmulatedNicConfig config) {
        return new BinderConfig(socket, allowUids, allowGids, socketMode, socketGid, maxConnections,
                Optional.of(config), nicStateDir);
    }

    public BinderConfig withNicStateDir(Path dir) {
        return new BinderConfig(socket, allowUids, allowGids, socketMode, socketGid, maxConnections, emulatedNic, dir);
    }

    /**
     * The authorisation rule: uid 0 (which could bind by itself anyway), a listed uid, or a listed
     * group among the peer's primary and supplementary groups.
     */
    boolean allows(PeerCred peer) {
        if (peer.uid() == 0 || allowUids.contains(peer.uid())) {
            return true;
        }
        for (int g : allowGids) {
            if (peer.inGroup(g)) {
                return true;
            }
        }
        return false;
    }
}
