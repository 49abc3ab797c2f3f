package dev.devmem.ffm.rx;

import dev.devmem.ffm.sys.LinuxConstants;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntPredicate;

/**
 * A socket endpoint that only answers {@code SO_DEVMEM_DONTNEED}, the way the kernel checks it
 * (optlen a multiple of 8 and at most 128 ranges, else EINVAL; at most 1024 frags freed per call,
 * the rest silently ignored) and records every call's ranges. Property tests of the batcher use it
 * where thousands of cases would make a real socket per case the bottleneck; the kernel itself is
 * asked in {@link ReleaseBatchingPropertyTest}.
 */
final class FakeDontneedEndpoint implements SocketEndpoint {
    record Range(int start, int count) {
    }

    record Call(int optlen, List<Range> ranges, int result) {
        int frags() {
            return ranges.stream().mapToInt(Range::count).sum();
        }
    }

    final List<Call> calls = new ArrayList<>();
    /** Fails the n-th call (0-based) with EINVAL when it returns true. */
    private final IntPredicate failCall;

    FakeDontneedEndpoint(IntPredicate failCall) {
        this.failCall = failCall;
    }

    FakeDontneedEndpoint() {
        this(n -> false);
    }

    @Override
    public int setsockopt(int level, int name, MemorySegment value, int len) {
        if (level != LinuxConstants.SOL_SOCKET || name != LinuxConstants.SO_DEVMEM_DONTNEED) {
            return -92; // ENOPROTOOPT
        }
        if (len % 8 != 0 || len / 8 > LinuxConstants.DONTNEED_MAX_RANGES) {
            calls.add(new Call(len, List.of(), -22));
            return -22;
        }
        List<Range> ranges = new ArrayList<>();
        int freed = 0;
        for (int i = 0; i < len / 8; i++) {
            Range r = new Range(value.get(ValueLayout.JAVA_INT, 8L * i), value.get(ValueLayout.JAVA_INT, 8L * i + 4));
            ranges.add(r);
            freed += r.count();
        }
        int result = failCall.test(calls.size()) ? -22 : Math.min(freed, LinuxConstants.DONTNEED_MAX_FRAGS);
        calls.add(new Call(len, List.copyOf(ranges), result));
        return result;
    }

    @Override
    public long recvmsg(MemorySegment msghdr, int flags) {
        throw new UnsupportedOperationException();
    }

    @Override
    public long sendmsg(MemorySegment msghdr, int flags) {
        throw new UnsupportedOperationException();
    }

    @Override
    public int getsockopt(int level, int name, MemorySegment value, MemorySegment len) {
        throw new UnsupportedOperationException();
    }

    @Override
    public int shutdown(int how) {
        throw new UnsupportedOperationException();
    }

    @Override
    public int pollFd() {
        return -1;
    }

    @Override
    public short pollEvents() {
        return 0;
    }

    @Override
    public InetSocketAddress localAddress() {
        return null;
    }

    @Override
    public InetSocketAddress remoteAddress() {
        return null;
    }

    @Override
    public void close() {
    }
}
