package dev.devmem.ffm.sys;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * Memory layouts of the C structs the library exchanges with the kernel (LP64), with the offsets
 * the hot path uses. Sizes are checked against gcc's in {@code StructsTest}.
 */
public final class Structs {
    private Structs() {
    }

    /**
     * <pre>
     * struct iovec { void *iov_base; size_t iov_len; };
     * </pre>
     */
    public static final StructLayout IOVEC = MemoryLayout.structLayout(
            ADDRESS.withName("iov_base"),
            JAVA_LONG.withName("iov_len"));
    public static final long IOVEC_BASE = IOVEC.byteOffset(groupElement("iov_base"));
    public static final long IOVEC_LEN = IOVEC.byteOffset(groupElement("iov_len"));

    /**
     * <pre>
     * struct msghdr {
     *     void         *msg_name;       socklen_t msg_namelen;   (4 bytes padding)
     *     struct iovec *msg_iov;        size_t    msg_iovlen;
     *     void         *msg_control;    size_t    msg_controllen;
     *     int           msg_flags;      (4 bytes padding)
     * };                                                          // 56 bytes
     * </pre>
     */
    public static final StructLayout MSGHDR = MemoryLayout.structLayout(
            ADDRESS.withName("msg_name"),
            JAVA_INT.withName("msg_namelen"),
            MemoryLayout.paddingLayout(4),
            ADDRESS.withName("msg_iov"),
            JAVA_LONG.withName("msg_iovlen"),
            ADDRESS.withName("msg_control"),
            JAVA_LONG.withName("msg_controllen"),
            JAVA_INT.withName("msg_flags"),
            MemoryLayout.paddingLayout(4));
    public static final long MSGHDR_NAME = MSGHDR.byteOffset(groupElement("msg_name"));
    public static final long MSGHDR_NAMELEN = MSGHDR.byteOffset(groupElement("msg_namelen"));
    public static final long MSGHDR_IOV = MSGHDR.byteOffset(groupElement("msg_iov"));
    public static final long MSGHDR_IOVLEN = MSGHDR.byteOffset(groupElement("msg_iovlen"));
    public static final long MSGHDR_CONTROL = MSGHDR.byteOffset(groupElement("msg_control"));
    public static final long MSGHDR_CONTROLLEN = MSGHDR.byteOffset(groupElement("msg_controllen"));
    public static final long MSGHDR_FLAGS = MSGHDR.byteOffset(groupElement("msg_flags"));

    /**
     * <pre>
     * struct cmsghdr { size_t cmsg_len; int cmsg_level; int cmsg_type; unsigned char data[]; };  // 16 bytes
     * </pre>
     * {@code cmsg_len} counts the header and the data, not the trailing alignment padding.
     */
    public static final StructLayout CMSGHDR = MemoryLayout.structLayout(
            JAVA_LONG.withName("cmsg_len"),
            JAVA_INT.withName("cmsg_level"),
            JAVA_INT.withName("cmsg_type"));
    public static final long CMSG_LEN = CMSGHDR.byteOffset(groupElement("cmsg_len"));
    public static final long CMSG_LEVEL = CMSGHDR.byteOffset(groupElement("cmsg_level"));
    public static final long CMSG_TYPE = CMSGHDR.byteOffset(groupElement("cmsg_type"));
    /** Control messages are aligned to {@code sizeof(size_t)}. */
    public static final int CMSG_ALIGN = 8;

    /**
     * <pre>
     * struct dmabuf_cmsg {
     *     __u64 frag_offset;   // offset into the dmabuf
     *     __u32 frag_size;
     *     __u32 frag_token;    // token to return with SO_DEVMEM_DONTNEED
     *     __u32 dmabuf_id;     // binding id
     *     __u32 flags;         // reserved, 0
     * };                       // 24 bytes
     * </pre>
     */
    public static final StructLayout DMABUF_CMSG = MemoryLayout.structLayout(
            JAVA_LONG.withName("frag_offset"),
            JAVA_INT.withName("frag_size"),
            JAVA_INT.withName("frag_token"),
            JAVA_INT.withName("dmabuf_id"),
            JAVA_INT.withName("flags"));
    public static final long DMABUF_CMSG_FRAG_OFFSET = DMABUF_CMSG.byteOffset(groupElement("frag_offset"));
    public static final long DMABUF_CMSG_FRAG_SIZE = DMABUF_CMSG.byteOffset(groupElement("frag_size"));
    public static final long DMABUF_CMSG_FRAG_TOKEN = DMABUF_CMSG.byteOffset(groupElement("frag_token"));
    public static final long DMABUF_CMSG_DMABUF_ID = DMABUF_CMSG.byteOffset(groupElement("dmabuf_id"));
    public static final long DMABUF_CMSG_FLAGS = DMABUF_CMSG.byteOffset(groupElement("flags"));
    /** CMSG_SPACE(sizeof(struct dmabuf_cmsg)) = CMSG_LEN(24) = 40 on 64-bit. */
    public static final int DEVMEM_CMSG_SPACE = (int) (CMSGHDR.byteSize() + DMABUF_CMSG.byteSize());

    /**
     * <pre>
     * struct dmabuf_token { __u32 token_start; __u32 token_count; };  // 8 bytes
     * </pre>
     */
    public static final StructLayout DMABUF_TOKEN = MemoryLayout.structLayout(
            JAVA_INT.withName("token_start"),
            JAVA_INT.withName("token_count"));
    public static final long DMABUF_TOKEN_START = DMABUF_TOKEN.byteOffset(groupElement("token_start"));
    public static final long DMABUF_TOKEN_COUNT = DMABUF_TOKEN.byteOffset(groupElement("token_count"));

    /**
     * <pre>
     * struct sock_extended_err {
     *     __u32 ee_errno; __u8 ee_origin; __u8 ee_type; __u8 ee_code; __u8 ee_pad;
     *     __u32 ee_info;  __u32 ee_data;
     * };  // 16 bytes
     * </pre>
     */
    public static final StructLayout SOCK_EXTENDED_ERR = MemoryLayout.structLayout(
            JAVA_INT.withName("ee_errno"),
            JAVA_BYTE.withName("ee_origin"),
            JAVA_BYTE.withName("ee_type"),
            JAVA_BYTE.withName("ee_code"),
            JAVA_BYTE.withName("ee_pad"),
            JAVA_INT.withName("ee_info"),
            JAVA_INT.withName("ee_data"));
    public static final long EE_ERRNO = SOCK_EXTENDED_ERR.byteOffset(groupElement("ee_errno"));
    public static final long EE_ORIGIN = SOCK_EXTENDED_ERR.byteOffset(groupElement("ee_origin"));
    public static final long EE_TYPE = SOCK_EXTENDED_ERR.byteOffset(groupElement("ee_type"));
    public static final long EE_CODE = SOCK_EXTENDED_ERR.byteOffset(groupElement("ee_code"));
    public static final long EE_INFO = SOCK_EXTENDED_ERR.byteOffset(groupElement("ee_info"));
    public static final long EE_DATA = SOCK_EXTENDED_ERR.byteOffset(groupElement("ee_data"));

    /**
     * <pre>
     * struct pollfd { int fd; short events; short revents; };  // 8 bytes
     * </pre>
     */
    public static final StructLayout POLLFD = MemoryLayout.structLayout(
            JAVA_INT.withName("fd"),
            JAVA_SHORT.withName("events"),
            JAVA_SHORT.withName("revents"));
    public static final long POLLFD_FD = POLLFD.byteOffset(groupElement("fd"));
    public static final long POLLFD_EVENTS = POLLFD.byteOffset(groupElement("events"));
    public static final long POLLFD_REVENTS = POLLFD.byteOffset(groupElement("revents"));

    /**
     * <pre>
     * struct ucred { pid_t pid; uid_t uid; gid_t gid; };  // 12 bytes, SO_PEERCRED
     * </pre>
     */
    public static final StructLayout UCRED = MemoryLayout.structLayout(
            JAVA_INT.withName("pid"),
            JAVA_INT.withName("uid"),
            JAVA_INT.withName("gid"));
    public static final long UCRED_PID = UCRED.byteOffset(groupElement("pid"));
    public static final long UCRED_UID = UCRED.byteOffset(groupElement("uid"));
    public static final long UCRED_GID = UCRED.byteOffset(groupElement("gid"));

    /**
     * <pre>
     * struct sockaddr_un { sa_family_t sun_family; char sun_path[108]; };  // 110 bytes
     * </pre>
     */
    public static final StructLayout SOCKADDR_UN = MemoryLayout.structLayout(
            JAVA_SHORT.withName("sun_family"),
            MemoryLayout.sequenceLayout(LinuxConstants.UNIX_PATH_MAX, JAVA_BYTE).withName("sun_path"));
    public static final long SOCKADDR_UN_FAMILY = SOCKADDR_UN.byteOffset(groupElement("sun_family"));
    public static final long SOCKADDR_UN_PATH = SOCKADDR_UN.byteOffset(groupElement("sun_path"));

    /** {@code struct sockaddr_in} is 16 bytes, {@code struct sockaddr_in6} 28; room for either. */
    public static final int SOCKADDR_STORAGE_SIZE = 128;
    public static final int SOCKADDR_IN_SIZE = 16;
    public static final int SOCKADDR_IN6_SIZE = 28;

    /** Rounds {@code len} up to the control-message alignment (CMSG_ALIGN). */
    public static long cmsgAlign(long len) {
        return (len + CMSG_ALIGN - 1) & -CMSG_ALIGN;
    }

    /** CMSG_LEN(dataLen): header plus data, no trailing padding. */
    public static long cmsgLen(long dataLen) {
        return CMSGHDR.byteSize() + dataLen;
    }

    /** CMSG_SPACE(dataLen): header plus aligned data. */
    public static long cmsgSpace(long dataLen) {
        return CMSGHDR.byteSize() + cmsgAlign(dataLen);
    }
}
