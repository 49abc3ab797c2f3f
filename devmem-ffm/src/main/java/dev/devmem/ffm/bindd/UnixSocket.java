package dev.devmem.ffm.bindd;

import dev.devmem.api.Errno;
import dev.devmem.api.SyscallException;
import dev.devmem.ffm.sys.Structs;
import dev.devmem.ffm.sys.Syscalls;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static dev.devmem.ffm.sys.LinuxConstants.*;

/**
 * One AF_UNIX stream socket, and the few things bindd does with it: listen on or connect to a path,
 * read the peer's credentials, and exchange {@link Wire} frames that may carry one descriptor
 * ({@code SCM_RIGHTS}).
 *
 * <p>Frames are read exactly (the prefix, then the announced length, never further), so the
 * descriptors the kernel hands over while a frame is read belong to that frame. Every descriptor
 * received is opened close-on-exec ({@code MSG_CMSG_CLOEXEC}).
 */
final class UnixSocket implements AutoCloseable {
    /** Room for a few descriptors: a peer that sends more than one still has every one of them closed. */
    private static final int CONTROL_FDS = 8;
    private static final int EINTR = Errno.EINTR.number();

    private final int fd;
    private volatile boolean closed;

    UnixSocket(int fd) {
        this.fd = fd;
    }

    int fd() {
        return fd;
    }

    /** A frame body and the descriptors that came with it (the receiver owns them). */
    record Frame(byte[] body, int[] fds) {
    }

    // ---------------------------------------------------------------------------- set up

    static UnixSocket listen(Path path, int mode, int gid, int backlog) throws SyscallException {
        int fd = Syscalls.check(Syscalls.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), "socket(AF_UNIX)");
        try (Arena a = Arena.ofConfined()) {
            MemorySegment sa = address(a, path);
            Syscalls.check(Syscalls.bind(fd, sa, (int) sa.byteSize()), "bind(" + path + ")");
            // Permissions are set before listen(): until then a connect is refused, so nobody slips in
            // through the mode the umask gave the fresh socket file.
            try {
                java.nio.file.Files.setPosixFilePermissions(path, permissions(mode));
                if (gid >= 0) {
                    java.nio.file.Files.setAttribute(path, "unix:gid", gid);
                }
            } catch (java.io.IOException | UnsupportedOperationException e) {
                throw new SyscallException("chmod/chown(" + path + ")", Errno.EPERM, e.getMessage());
            }
            Syscalls.check(Syscalls.listen(fd, backlog), "listen(" + path + ")");
            return new UnixSocket(fd);
        } catch (SyscallException | RuntimeException e) {
            Syscalls.closeQuietly(fd);
            throw e;
        }
    }

    static UnixSocket connect(Path path) throws SyscallException {
        int fd = Syscalls.check(Syscalls.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), "socket(AF_UNIX)");
        try (Arena a = Arena.ofConfined()) {
            MemorySegment sa = address(a, path);
            int r;
            do {
                r = Syscalls.connect(fd, sa, (int) sa.byteSize());
            } while (r == -EINTR);
            Syscalls.check(r, "connect(" + path + ")");
            return new UnixSocket(fd);
        } catch (SyscallException | RuntimeException e) {
            Syscalls.closeQuietly(fd);
            throw e;
        }
    }

    /** Accepts one connection, or returns null when none is pending ({@code EAGAIN}) or the call was interrupted. */
    UnixSocket accept() throws SyscallException {
        int r = Syscalls.accept4(fd, MemorySegment.NULL, MemorySegment.NULL, SOCK_CLOEXEC);
        if (r == -EINTR || r == -Errno.EAGAIN.number() || r == -Errno.ECONNABORTED.number()) {
            return null;
        }
        return new UnixSocket(Syscalls.check(r, "accept4(AF_UNIX)"));
    }

    private static MemorySegment address(Arena a, Path path) throws SyscallException {
        byte[] p = path.toString().getBytes(StandardCharsets.UTF_8);
        if (p.length >= UNIX_PATH_MAX) {
            throw new SyscallException("bind/connect(" + path + ")", Errno.of(36), // ENAMETOOLONG
                    "a Unix socket path holds at most " + (UNIX_PATH_MAX - 1) + " bytes");
        }
        MemorySegment sa = a.allocate(Structs.SOCKADDR_UN);
        sa.set(ValueLayout.JAVA_SHORT, Structs.SOCKADDR_UN_FAMILY, (short) AF_UNIX);
        MemorySegment.copy(p, 0, sa, ValueLayout.JAVA_BYTE, Structs.SOCKADDR_UN_PATH, p.length);
        return sa.asSlice(0, Structs.SOCKADDR_UN_PATH + p.length + 1);
    }

    private static java.util.Set<java.nio.file.attribute.PosixFilePermission> permissions(int mode) {
        java.nio.file.attribute.PosixFilePermission[] all = java.nio.file.attribute.PosixFilePermission.values();
        java.util.Set<java.nio.file.attribute.PosixFilePermission> out =
                java.util.EnumSet.noneOf(java.nio.file.attribute.PosixFilePermission.class);
        for (int i = 0; i < 9; i++) {
            if ((mode & (0400 >> i)) != 0) {
                out.add(all[i]); // OWNER_READ, OWNER_WRITE, ..., OTHERS_EXECUTE: the enum's order is the bits'
            }
        }
        return out;
    }

    // ---------------------------------------------------------------------------- credentials

    PeerCred peerCred() throws SyscallException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment cred = a.allocate(Structs.UCRED);
            MemorySegment len = a.allocate(ValueLayout.JAVA_INT);
            len.set(ValueLayout.JAVA_INT, 0, (int) Structs.UCRED.byteSize());
            Syscalls.check(Syscalls.getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cred, len), "getsockopt(SO_PEERCRED)");
            int[] groups = peerGroups(a);
            return new PeerCred(cred.get(ValueLayout.JAVA_INT, Structs.UCRED_PID),
                    cred.get(ValueLayout.JAVA_INT, Structs.UCRED_UID),
                    cred.get(ValueLayout.JAVA_INT, Structs.UCRED_GID), groups);
        }
    }

    /** The peer's supplementary groups; none when the kernel cannot say (pre-4.13). */
    private int[] peerGroups(Arena a) {
        int room = 64;
        for (int attempt = 0; attempt < 4; attempt++) {
            MemorySegment buf = a.allocate(ValueLayout.JAVA_INT, room);
            MemorySegment len = a.allocate(ValueLayout.JAVA_INT);
            len.set(ValueLayout.JAVA_INT, 0, room * 4);
            int r = Syscalls.getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, buf, len);
            int n = len.get(ValueLayout.JAVA_INT, 0) / 4;
            if (r == 0) {
                return buf.asSlice(0, n * 4L).toArray(ValueLayout.JAVA_INT);
            }
            if (r != -Errno.ERANGE.number()) {
                return new int[0];
            }
            room = Math.max(n, room * 4);
        }
        return new int[0];
    }

    // ---------------------------------------------------------------------------- frames

    /**
     * Reads one frame; null on a clean end of stream before its first byte.
     *
     * @throws WireException the prefix announces a length outside the limits, or the stream ends
     *                       inside the frame; descriptors that came with it are closed
     */
    Frame readFrame() throws WireException, SyscallException {
        List<Integer> fds = new ArrayList<>(1);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment prefix = a.allocate(4);
            int got = readFully(a, prefix, fds, true);
            if (got == 0) {
                closeAll(fds);
                return null;
            }
            if (got < 4) {
                closeAll(fds);
                throw new WireException("the stream ended inside a frame's length prefix");
            }
            int length = prefix.get(ValueLayout.JAVA_INT_UNALIGNED.withOrder(java.nio.ByteOrder.BIG_ENDIAN), 0);
            try {
                Wire.frameLength(length);
            } catch (WireException e) {
                closeAll(fds);
                throw e;
            }
            MemorySegment body = a.allocate(length);
            got = readFully(a, body, fds, false);
            if (got < length) {
                closeAll(fds);
                throw new WireException("the stream ended after " + got + " of a frame's " + length + " bytes");
            }
            return new Frame(body.toArray(ValueLayout.JAVA_BYTE), fds.stream().mapToInt(Integer::intValue).toArray());
        } catch (SyscallException | RuntimeException e) {
            closeAll(fds);
            throw e;
        }
    }

    /** Fills {@code into} unless the stream ends; returns how many bytes arrived. */
    private int readFully(Arena a, MemorySegment into, List<Integer> fds, boolean first) throws SyscallException {
        long controlSize = Structs.cmsgSpace(4L * CONTROL_FDS);
        MemorySegment iov = a.allocate(Structs.IOVEC);
        MemorySegment msg = a.allocate(Structs.MSGHDR);
        MemorySegment control = a.allocate(controlSize, 8);
        int done = 0;
        while (done < into.byteSize()) {
            iov.set(ValueLayout.ADDRESS, Structs.IOVEC_BASE, into.asSlice(done));
            iov.set(ValueLayout.JAVA_LONG, Structs.IOVEC_LEN, into.byteSize() - done);
            msg.fill((byte) 0);
            msg.set(ValueLayout.ADDRESS, Structs.MSGHDR_IOV, iov);
            msg.set(ValueLayout.JAVA_LONG, Structs.MSGHDR_IOVLEN, 1);
            msg.set(ValueLayout.ADDRESS, Structs.MSGHDR_CONTROL, control);
            msg.set(ValueLayout.JAVA_LONG, Structs.MSGHDR_CONTROLLEN, controlSize);
            long r = Syscalls.recvmsg(fd, msg, MSG_CMSG_CLOEXEC);
            if (r == -EINTR) {
                continue;
            }
            if (r == -Errno.ECONNRESET.number()) {
                return done; // the peer went away: an end of stream like any other
            }
            Syscalls.check(r, "recvmsg(AF_UNIX)");
            collectFds(msg, control, fds);
            if (r == 0) {
                return done;
            }
            done += (int) r;
        }
        return done;
    }

    private static void collectFds(MemorySegment msg, MemorySegment control, List<Integer> fds) {
        long len = msg.get(ValueLayout.JAVA_LONG, Structs.MSGHDR_CONTROLLEN);
        long off = 0;
        while (off + Structs.CMSGHDR.byteSize() <= len) {
            long cmsgLen = control.get(ValueLayout.JAVA_LONG, off + Structs.CMSG_LEN);
            if (cmsgLen < Structs.CMSGHDR.byteSize() || off + cmsgLen > len) {
                break;
            }
            int level = control.get(ValueLayout.JAVA_INT, off + Structs.CMSG_LEVEL);
            int type = control.get(ValueLayout.JAVA_INT, off + Structs.CMSG_TYPE);
            if (level == SOL_SOCKET && type == SCM_RIGHTS) {
                long n = (cmsgLen - Structs.CMSGHDR.byteSize()) / 4;
                for (long i = 0; i < n; i++) {
                    fds.add(control.get(ValueLayout.JAVA_INT, off + Structs.CMSGHDR.byteSize() + 4 * i));
                }
            }
            off += Structs.cmsgAlign(cmsgLen);
        }
    }

    /**
     * Writes a whole frame, with {@code passFd} (or none, when negative) attached to its first byte.
     * Returns 0, or {@code -errno} (EPIPE, ECONNRESET) when the peer is gone.
     */
    int writeFrame(byte[] frame, int passFd) {
        return writeFrame(frame, passFd < 0 ? new int[0] : new int[] {passFd});
    }

    /** {@link #writeFrame(byte[], int)} with any number of descriptors (tests send more than the protocol allows). */
    int writeFrame(byte[] frame, int[] passFds) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment data = a.allocateFrom(ValueLayout.JAVA_BYTE, frame);
            MemorySegment iov = a.allocate(Structs.IOVEC);
            MemorySegment msg = a.allocate(Structs.MSGHDR);
            MemorySegment control = a.allocate(Structs.cmsgSpace(4L * Math.max(1, passFds.length)), 8);
            int done = 0;
            while (done < frame.length) {
                iov.set(ValueLayout.ADDRESS, Structs.IOVEC_BASE, data.asSlice(done));
                iov.set(ValueLayout.JAVA_LONG, Structs.IOVEC_LEN, frame.length - done);
                msg.fill((byte) 0);
                msg.set(ValueLayout.ADDRESS, Structs.MSGHDR_IOV, iov);
                msg.set(ValueLayout.JAVA_LONG, Structs.MSGHDR_IOVLEN, 1);
                if (done == 0 && passFds.length > 0) {
                    control.set(ValueLayout.JAVA_LONG, Structs.CMSG_LEN, Structs.cmsgLen(4L * passFds.length));
                    control.set(ValueLayout.JAVA_INT, Structs.CMSG_LEVEL, SOL_SOCKET);
                    control.set(ValueLayout.JAVA_INT, Structs.CMSG_TYPE, SCM_RIGHTS);
                    for (int i = 0; i < passFds.length; i++) {
                        control.set(ValueLayout.JAVA_INT, Structs.CMSGHDR.byteSize() + 4L * i, passFds[i]);
                    }
                    msg.set(ValueLayout.ADDRESS, Structs.MSGHDR_CONTROL, control);
                    msg.set(ValueLayout.JAVA_LONG, Structs.MSGHDR_CONTROLLEN, control.byteSize());
                }
                long r = Syscalls.sendmsg(fd, msg, MSG_NOSIGNAL);
                if (r == -EINTR) {
                    continue;
                }
                if (r < 0) {
                    return (int) r;
                }
                done += (int) r;
            }
            return 0;
        }
    }

    /** Ends both directions: wakes a thread blocked reading this socket (it sees the end of stream). */
    void shutdown() {
        if (!closed) {
            Syscalls.shutdown(fd, SHUT_RDWR);
        }
    }

    /** Ends this side's writing: the peer reads an end of stream, and can still answer. */
    void shutdownOutput() {
        if (!closed) {
            Syscalls.shutdown(fd, SHUT_WR);
        }
    }

    /** Blocks reads for at most {@code millis} (SO_RCVTIMEO); then recvmsg fails with EAGAIN. */
    void receiveTimeout(long millis) throws SyscallException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment tv = a.allocate(16, 8);
            tv.set(ValueLayout.JAVA_LONG, 0, millis / 1000);
            tv.set(ValueLayout.JAVA_LONG, 8, (millis % 1000) * 1000);
            Syscalls.check(Syscalls.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, tv, 16), "setsockopt(SO_RCVTIMEO)");
        }
    }

    static void closeAll(List<Integer> fds) {
        for (int f : fds) {
            Syscalls.closeQuietly(f);
        }
        fds.clear();
    }

    static void closeAll(int[] fds) {
        for (int f : fds) {
            Syscalls.closeQuietly(f);
        }
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            Syscalls.closeQuietly(fd);
        }
    }
}
