package dev.devmem.ffm.sys;

/**
 * Every kernel constant the library uses, in one place, for the generic Linux ABI (x86_64, arm64,
 * riscv64). Pre-upstream devmem builds used other numbers (TCPX: 97/99); mainline is 78/79/80.
 * {@code LinuxConstantsTest} checks these against the ABI fact sheet.
 */
public final class LinuxConstants {
    private LinuxConstants() {
    }

    // address families, socket types
    public static final int AF_UNIX = 1;
    public static final int AF_INET = 2;
    public static final int AF_INET6 = 10;
    public static final int AF_NETLINK = 16;
    public static final int SOCK_STREAM = 1;
    public static final int SOCK_DGRAM = 2;
    public static final int SOCK_RAW = 3;
    public static final int SOCK_NONBLOCK = 0x800;
    public static final int SOCK_CLOEXEC = 0x80000;
    public static final int IPPROTO_TCP = 6;
    public static final int IPPROTO_UDP = 17;
    public static final int IPPROTO_IPV6 = 41;
    public static final int NETLINK_GENERIC = 16;

    // socket options
    public static final int SOL_SOCKET = 1;
    public static final int SO_REUSEADDR = 2;
    public static final int SO_ERROR = 4;
    public static final int SO_SNDBUF = 7;
    public static final int SO_RCVBUF = 8;
    public static final int SO_RCVLOWAT = 18;
    public static final int SO_BINDTODEVICE = 25;
    public static final int SO_ZEROCOPY = 60;
    public static final int SO_DEVMEM_LINEAR = 78;
    public static final int SO_DEVMEM_DMABUF = 79;
    public static final int SO_DEVMEM_DONTNEED = 80;
    public static final int SCM_DEVMEM_LINEAR = SO_DEVMEM_LINEAR;
    public static final int SCM_DEVMEM_DMABUF = SO_DEVMEM_DMABUF;
    public static final int TCP_NODELAY = 1;
    public static final int IPV6_V6ONLY = 26;
    public static final int SOL_IP = 0;
    public static final int SOL_IPV6 = 41;
    public static final int IP_RECVERR = 11;
    public static final int IPV6_RECVERR = 25;

    // AF_UNIX: credentials and descriptor passing (the bindd privilege split)
    public static final int SOCK_SEQPACKET = 5;
    public static final int SO_PASSCRED = 16;
    /** {@code struct ucred} of the peer, as it was when it connected (or called socketpair). */
    public static final int SO_PEERCRED = 17;
    public static final int SO_RCVTIMEO = 20;
    public static final int SO_SNDTIMEO = 21;
    /** The peer's supplementary groups, an array of {@code gid_t}; ERANGE when the buffer is too small. */
    public static final int SO_PEERGROUPS = 59;
    /** Control message type of file descriptors passed over an AF_UNIX socket (level SOL_SOCKET). */
    public static final int SCM_RIGHTS = 1;
    public static final int SCM_CREDENTIALS = 2;
    /** The kernel's cap on descriptors in one SCM_RIGHTS message (SCM_MAX_FD). */
    public static final int SCM_MAX_FD = 253;
    /** {@code sizeof(((struct sockaddr_un *) 0)->sun_path)}. */
    public static final int UNIX_PATH_MAX = 108;

    // recvmsg/sendmsg flags
    public static final int MSG_PEEK = 0x2;
    public static final int MSG_CTRUNC = 0x8;
    public static final int MSG_TRUNC = 0x20;
    public static final int MSG_DONTWAIT = 0x40;
    public static final int MSG_WAITALL = 0x100;
    public static final int MSG_NOSIGNAL = 0x4000;
    public static final int MSG_ERRQUEUE = 0x2000;
    /** Not in uapi (include/linux/socket.h); the same on every architecture. */
    public static final int MSG_SOCK_DEVMEM = 0x2000000;
    public static final int MSG_ZEROCOPY = 0x4000000;
    public static final int MSG_CMSG_CLOEXEC = 0x40000000;

    // SO_DEVMEM_DONTNEED limits (net/core/sock.c)
    /** At most this many {@code struct dmabuf_token} ranges per call (optlen <= 1024 bytes). */
    public static final int DONTNEED_MAX_RANGES = 128;
    /** At most this many frags (token ids, existing or not) are processed per call. */
    public static final int DONTNEED_MAX_FRAGS = 1024;

    // zerocopy completions
    public static final int SO_EE_ORIGIN_ZEROCOPY = 5;
    public static final int SO_EE_CODE_ZEROCOPY_COPIED = 1;

    // shutdown
    public static final int SHUT_RD = 0;
    public static final int SHUT_WR = 1;
    public static final int SHUT_RDWR = 2;

    // poll
    public static final short POLLIN = 0x1;
    public static final short POLLPRI = 0x2;
    public static final short POLLOUT = 0x4;
    public static final short POLLERR = 0x8;
    public static final short POLLHUP = 0x10;
    public static final short POLLNVAL = 0x20;

    // eventfd
    public static final int EFD_CLOEXEC = 0x80000;
    public static final int EFD_NONBLOCK = 0x800;

    // fcntl
    public static final int F_GETFL = 3;
    public static final int F_SETFL = 4;
    public static final int F_ADD_SEALS = 1033;
    public static final int F_GET_SEALS = 1034;
    public static final int F_SEAL_SEAL = 1;
    public static final int F_SEAL_SHRINK = 2;
    public static final int F_SEAL_GROW = 4;
    public static final int O_RDONLY = 0;
    public static final int O_RDWR = 2;
    public static final int O_NONBLOCK = 0x800;
    public static final int O_CLOEXEC = 0x80000;

    // memfd, mmap
    public static final int MFD_CLOEXEC = 1;
    public static final int MFD_ALLOW_SEALING = 2;
    public static final int PROT_READ = 1;
    public static final int PROT_WRITE = 2;
    public static final int MAP_SHARED = 1;
    public static final int MAP_PRIVATE = 2;
    public static final int MAP_POPULATE = 0x8000;

    // namespaces
    public static final int CLONE_NEWNET = 0x40000000;

    // ioctls
    public static final long SIOCETHTOOL = 0x8946;
    public static final long UDMABUF_CREATE = 0x40187542L;
    public static final long UDMABUF_CREATE_LIST = 0x40087543L;
    public static final long DMA_BUF_IOCTL_SYNC = 0x40086200L;
    public static final long DMA_HEAP_IOCTL_ALLOC = 0xC0184800L;
    public static final int DMA_BUF_SYNC_READ = 1;
    public static final int DMA_BUF_SYNC_WRITE = 2;
    public static final int DMA_BUF_SYNC_START = 0;
    public static final int DMA_BUF_SYNC_END = 4;

    // netlink
    public static final int SOL_NETLINK = 270;
    public static final int NETLINK_ADD_MEMBERSHIP = 1;
    public static final int NETLINK_DROP_MEMBERSHIP = 2;
    public static final int NETLINK_CAP_ACK = 10;
    public static final int NETLINK_EXT_ACK = 11;
    public static final int NETLINK_GET_STRICT_CHK = 12;
}
