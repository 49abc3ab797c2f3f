package dev.devmem.ffm.testing;

import dev.devmem.ffm.rx.SocketEndpoint;
import dev.devmem.ffm.sys.LinuxConstants;
import dev.devmem.ffm.sys.Structs;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * A {@link SocketEndpoint} around another one (normally the real kernel's) that records what the
 * devmem engine asks and can script what {@code recvmsg} answers.
 *
 * <p>Why: on loopback the kernel never issues tokens, so the only way to drive the token path
 * against the real kernel is to script the recvmsg side (cmsgs laid out exactly as the kernel's
 * {@code put_cmsg} would) while every {@code SO_DEVMEM_DONTNEED} still goes to the kernel, which
 * answers for real. Recorded: each DONTNEED call's optlen, decoded ranges and the kernel's answer;
 * each recvmsg's offered control length, iov length and flags.
 *
 * <p>recvmsg answers come from the script while it has any, then from the wrapped endpoint.
 */
@SuppressWarnings("restricted") // reads the engine's native msghdr, iov and control buffer by address
public final class RecordingEndpoint implements SocketEndpoint {

    /** One {@code setsockopt(SO_DEVMEM_DONTNEED)} as sent, with the answer it got. */
    public record DontneedCall(int optlen, List<Range> ranges, int result) {
        public int frags() {
            int n = 0;
            for (Range r : ranges) {
                n += r.count();
            }
            return n;
        }
    }

    /** One {@code struct dmabuf_token}. */
    public record Range(int start, int count) {
    }

    /** One recvmsg as offered by the engine. */
    public record Offer(long controllen, long iovLen, int flags) {
    }

    /** One scripted fragment of a recvmsg answer. */
    public sealed interface Frag permits Linear, Dmabuf, Other {
    }

    /** Bytes the kernel copied into the iov, announced by a {@code SCM_DEVMEM_LINEAR} cmsg. */
    public record Linear(byte[] bytes) implements Frag {
    }

    /** A {@code SCM_DEVMEM_DMABUF} cmsg. */
    public record Dmabuf(int dmabufId, long offset, int size, int token) implements Frag {
    }

    /** A cmsg that is not devmem (another level or type); carries no stream bytes. */
    public record Other(int level, int type, byte[] data) implements Frag {
    }

    /** A scripted recvmsg: fill {@code call} and return what recvmsg returns. */
    @FunctionalInterface
    public interface Answer {
        long answer(Call call);
    }

    /** The buffers of one recvmsg, as the engine passed them. */
    public static final class Call {
        private final MemorySegment msghdr;
        private final MemorySegment control;
        private final MemorySegment iov;

        Call(MemorySegment msghdr) {
            this.msghdr = msghdr.reinterpret(Structs.MSGHDR.byteSize());
            long controlCap = this.msghdr.get(ValueLayout.JAVA_LONG, Structs.MSGHDR_CONTROLLEN);
            MemorySegment c = this.msghdr.get(ValueLayout.ADDRESS, Structs.MSGHDR_CONTROL);
            this.control = c.address() == 0 ? MemorySegment.NULL : c.reinterpret(controlCap);
            MemorySegment iovec = this.msghdr.get(ValueLayout.ADDRESS, Structs.MSGHDR_IOV).reinterpret(Structs.IOVEC.byteSize());
            long len = iovec.get(ValueLayout.JAVA_LONG, Structs.IOVEC_LEN);
            this.iov = iovec.get(ValueLayout.ADDRESS, Structs.IOVEC_BASE).reinterpret(len);
        }

        /** The control buffer, sized to the offered {@code msg_controllen}. */
        public MemorySegment control() {
            return control;
        }

        public MemorySegment iov() {
            return iov;
        }

        /** Sets the returned {@code msg_controllen}. */
        public void controllen(long bytes) {
            msghdr.set(ValueLayout.JAVA_LONG, Structs.MSGHDR_CONTROLLEN, bytes);
        }

        /** Sets the returned {@code msg_flags}. */
        public void msgFlags(int flags) {
            msghdr.set(ValueLayout.JAVA_INT, Structs.MSGHDR_FLAGS, flags);
        }
    }

    private final SocketEndpoint delegate;
    private final ArrayDeque<Answer> script = new ArrayDeque<>();
    private final List<DontneedCall> dontneed = new ArrayList<>();
    private final List<Offer> offers = new ArrayList<>();

    public RecordingEndpoint(SocketEndpoint delegate) {
        this.delegate = delegate;
    }

    /** Queues one scripted recvmsg answer. */
    public RecordingEndpoint answer(Answer answer) {
        script.add(answer);
        return this;
    }

    /** Queues a recvmsg that returns these fragments, laid out as the kernel would. */
    public RecordingEndpoint frags(Frag... frags) {
        List<Frag> copy = List.of(frags);
        return answer(call -> write(call, copy));
    }

    /** Queues a recvmsg that fails with {@code errno}. */
    public RecordingEndpoint errno(int errno) {
        return answer(call -> -errno);
    }

    public int scripted() {
        return script.size();
    }

    /** Fills the call as {@code tcp_recvmsg_dmabuf} would and returns the sum of the sizes. */
    public static long write(Call call, List<Frag> frags) {
        CmsgBuilder cmsgs = new CmsgBuilder(call.control());
        long total = 0;
        long iovUsed = 0;
        long need = 0;
        for (Frag f : frags) {
            need += switch (f) {
                case Other o -> Structs.cmsgSpace(o.data().length);
                default -> Structs.DEVMEM_CMSG_SPACE;
            };
        }
        if (need > call.control().byteSize()) {
            throw new AssertionError("scripted answer needs " + need + " control bytes, the engine offered "
                    + call.control().byteSize());
        }
        for (Frag f : frags) {
            switch (f) {
                case Linear l -> {
                    if (iovUsed + l.bytes().length > call.iov().byteSize()) {
                        throw new AssertionError("scripted LINEAR bytes overflow the offered iov of "
                                + call.iov().byteSize());
                    }
                    MemorySegment.copy(l.bytes(), 0, call.iov(), ValueLayout.JAVA_BYTE, iovUsed, l.bytes().length);
                    iovUsed += l.bytes().length;
                    cmsgs.linear(l.bytes().length);
                    total += l.bytes().length;
                }
                case Dmabuf d -> {
                    cmsgs.dmabuf(d.offset(), d.size(), d.token(), d.dmabufId());
                    total += d.size();
                }
                case Other o -> cmsgs.other(o.level(), o.type(), o.data());
            }
        }
        call.controllen(cmsgs.controllen());
        call.msgFlags(0);
        return total;
    }

    @Override
    public long recvmsg(MemorySegment msghdr, int flags) {
        Call call = new Call(msghdr);
        offers.add(new Offer(call.control().byteSize(), call.iov().byteSize(), flags));
        Answer a = script.poll();
        return a != null ? a.answer(call) : delegate.recvmsg(msghdr, flags);
    }

    @Override
    public long sendmsg(MemorySegment msghdr, int flags) {
        return delegate.sendmsg(msghdr, flags);
    }

    @Override
    public int setsockopt(int level, int name, MemorySegment value, int len) {
        List<Range> ranges = null;
        if (level == LinuxConstants.SOL_SOCKET && name == LinuxConstants.SO_DEVMEM_DONTNEED
                && value.address() != 0 && len >= 0) {
            MemorySegment v = value.reinterpret(len);
            ranges = new ArrayList<>();
            for (long at = 0; at + 8 <= len; at += 8) {
                ranges.add(new Range(v.get(ValueLayout.JAVA_INT, at + Structs.DMABUF_TOKEN_START),
                        v.get(ValueLayout.JAVA_INT, at + Structs.DMABUF_TOKEN_COUNT)));
            }
        }
        int r = delegate.setsockopt(level, name, value, len);
        if (ranges != null) {
            dontneed.add(new DontneedCall(len, List.copyOf(ranges), r));
        }
        return r;
    }

    @Override
    public int getsockopt(int level, int name, MemorySegment value, MemorySegment len) {
        return delegate.getsockopt(level, name, value, len);
    }

    @Override
    public int shutdown(int how) {
        return delegate.shutdown(how);
    }

    @Override
    public int pollFd() {
        return delegate.pollFd();
    }

    @Override
    public short pollEvents() {
        return delegate.pollEvents();
    }

    @Override
    public InetSocketAddress localAddress() {
        return delegate.localAddress();
    }

    @Override
    public InetSocketAddress remoteAddress() {
        return delegate.remoteAddress();
    }

    @Override
    public void close() {
        delegate.close();
    }

    /** Every DONTNEED call so far, in order. */
    public List<DontneedCall> dontneedCalls() {
        return List.copyOf(dontneed);
    }

    /** Every recvmsg offer so far, in order (scripted or passed through). */
    public List<Offer> offers() {
        return List.copyOf(offers);
    }

    /** All token ids sent back so far, in call order. */
    public int[] tokensSent() {
        return dontneed.stream().flatMap(c -> c.ranges().stream())
                .flatMapToInt(r -> java.util.stream.IntStream.range(r.start(), r.start() + r.count()))
                .toArray();
    }

    @Override
    public String toString() {
        return "RecordingEndpoint[" + delegate + ", " + dontneed.size() + " DONTNEED calls, script "
                + script.size() + "]";
    }
}
