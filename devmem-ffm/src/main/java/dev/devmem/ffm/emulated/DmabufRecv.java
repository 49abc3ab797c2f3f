package dev.devmem.ffm.emulated;

import dev.devmem.api.Errno;

import java.lang.foreign.MemorySegment;

import static dev.devmem.ffm.sys.LinuxConstants.SCM_DEVMEM_DMABUF;
import static dev.devmem.ffm.sys.LinuxConstants.SCM_DEVMEM_LINEAR;

/** The part of an emulated recvmsg that reads one devmem skb: the kernel's {@code tcp_recvmsg_dmabuf}. */
final class DmabufRecv {
    private DmabufRecv() {
    }

    /**
     * {@code tcp_recvmsg_dmabuf}: the linear part to the iov with one LINEAR cmsg, then one DMABUF
     * cmsg per frag piece. Returns the bytes reported, or a negative errno when none were.
     */
    static long receive(UserMsghdr user, TokenTable tokens, MemorySegment linearSlab, EmulatedSkb skb, long offset,
                        int remaining) {
        long sent = 0;
        int err = 0;
        long start = skb.headLen;
        long copy = start - offset;
        if (copy > 0) {
            copy = Math.min(copy, remaining);
            int n = user.copyToIov(linearSlab, skb.linearOffset() + offset, (int) copy);
            if (n != copy) {
                return sent > 0 ? sent : -Errno.EFAULT.number();
            }
            offset += copy;
            remaining -= (int) copy;
            if (!user.putCmsg(SCM_DEVMEM_LINEAR, 0L, (int) copy, 0, 0)) {
                return -EmulatedEndpoint.ETOOSMALL;
            }
            sent += copy;
            if (remaining == 0) {
                return sent;
            }
        }
        skb.pendingRefs = true;
        for (int i = 0; i < skb.nrFrags; i++) {
            long end = start + skb.fragLen[i];
            copy = end - offset;
            if (copy > 0) {
                copy = Math.min(copy, remaining);
                long fragOffset = skb.binding.bufferOffset(skb.frag[i]) + (offset - start);
                int token = tokens.allocate(skb.binding, skb.frag[i]);
                if (token < 0) {
                    err = -Errno.EBUSY.number(); // __xa_alloc with all 2^31-1 ids held
                    break;
                }
                offset += copy;
                remaining -= (int) copy;
                if (!user.putCmsg(SCM_DEVMEM_DMABUF, fragOffset, (int) copy, token, skb.binding.id())) {
                    tokens.unallocate(token); // the kernel's xa_erase when put_cmsg_notrunc fails
                    err = -EmulatedEndpoint.ETOOSMALL;
                    break;
                }
                skb.tokenRefs[i]++; // the buffer reference of this token: see SkbQueue.settleTokenRefs
                sent += copy;
                if (remaining == 0) {
                    break;
                }
            }
            start = end;
        }
        if (err == 0 && remaining > 0 && sent == 0) {
            err = -Errno.EFAULT.number();
        }
        return sent > 0 ? sent : err;
    }
}
