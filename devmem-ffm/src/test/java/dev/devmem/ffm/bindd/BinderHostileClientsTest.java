package dev.devmem.ffm.bindd;

import dev.devmem.api.DevmemProtocolException;
import dev.devmem.api.Errno;
import dev.devmem.api.SyscallException;
import dev.devmem.api.DmabufSource;
import dev.devmem.api.RxBindingSpec;
import dev.devmem.api.spi.RxBinding;
import dev.devmem.ffm.DevmemBackends;
import dev.devmem.ffm.sys.LinuxConstants;
import dev.devmem.ffm.sys.Syscalls;
import dev.devmem.ffm.testing.Soak;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Garbage at the daemon: random bytes, every truncation of a valid request, oversized and zero
 * lengths, a wrong version, unknown types, descriptors where none belong (or missing where one
 * must be), clients that leave mid-request or after a bind without reading the answer. After each
 * the daemon still serves a good client, holds no binding and no descriptor it was sent.
 */
class BinderHostileClientsTest {
    private Path dir;
    private BinderDaemon daemon;
    private final List<String> log = Collections.synchronizedList(new ArrayList<>());

    @BeforeEach
    void start() throws Exception {
        dir = Files.createTempDirectory("bindd-");
        daemon = BinderDaemon.start(BinderConfig.of(dir.resolve("bindd.sock")).withEmulatedNic(BinderEmulatedTest.NIC),
                log::add);
    }

    @AfterEach
    void stop() throws IOException {
        daemon.close();
        Files.deleteIfExists(dir);
    }

    /** Sends {@code bytes} (with {@code fds}), ends the stream, returns the daemon's answer: a body, or null at EOF. */
    private byte[] send(byte[] bytes, int... fds) throws Exception {
        try (UnixSocket s = UnixSocket.connect(daemon.socket())) {
            s.receiveTimeout(TimeUnit.SECONDS.toMillis(30)); // a hang fails the test instead of blocking it
            s.writeFrame(bytes, fds);
            s.shutdownOutput();
            UnixSocket.Frame f = s.readFrame();
            if (f == null) {
                return null;
            }
            UnixSocket.closeAll(f.fds());
            return f.body();
        }
    }

    private static String protocolError(byte[] reply) throws WireException {
        assertThat(reply).as("an answer").isNotNull();
        var e = ErrorCodec.decode(reply);
        assertThat(e).isInstanceOf(DevmemProtocolException.class);
        return e.getMessage();
    }

    private static byte[] prefix(int length, byte[] body) {
        return ByteBuffer.allocate(4 + body.length).putInt(length).put(body).array();
    }

    private void assertStillServing() throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (daemon.stats().connections() != 0 && System.nanoTime() < deadline) {
            Thread.sleep(2);
        }
        assertThat(daemon.stats().connections()).as("every hostile connection ended").isZero();
        assertThat(daemon.stats().bindings()).isZero();
        try (BinderBackend good = DevmemBackends.emulatedViaBinder(daemon.socket(), BinderEmulatedTest.NIC)) {
            RxBinding b = good.bindRx(new RxBindingSpec("emu0", List.of(0), DmabufSource.emulated(4 * 4096)));
            assertThat(b.isOpen()).isTrue();
            assertThat(daemon.stats().bindings()).as("%s", daemon.stats()).isEqualTo(1);
            b.close();
        }
        assertThat(daemon.stats().bindings()).isZero();
    }

    @Test
    void lengthsVersionsAndTypesOutsideTheProtocolAreAnsweredAndTheConnectionClosed() throws Exception {
        byte[] stats = Arrays.copyOfRange(Wire.stats(), 4, 6);
        assertThat(protocolError(send(prefix(Wire.MAX_FRAME + 1, new byte[0])))).contains("outside 1..4096");
        assertThat(protocolError(send(prefix(0, new byte[0])))).contains("frame length 0");
        assertThat(protocolError(send(prefix(-1, new byte[0])))).contains("4294967295");
        assertThat(protocolError(send(prefix(Integer.MAX_VALUE, new byte[64])))).contains("2147483647");
        assertThat(protocolError(send(prefix(2, new byte[] {2, stats[1]})))).contains("version 2 is not spoken here");
        assertThat(protocolError(send(prefix(2, new byte[] {1, 0x42})))).contains("unknown request type 66");
        assertThat(protocolError(send(prefix(2, new byte[] {1, (byte) Wire.BOUND})))).contains("unknown request type");
        assertThat(protocolError(send(prefix(1, new byte[] {1})))).contains("no version and type");
        byte[] statsWithTail = prefix(3, new byte[] {1, (byte) Wire.STATS, 0});
        assertThat(protocolError(send(statsWithTail))).contains("left over");
        byte[] bind = Wire.bindRx("emu0", Wire.DMABUF_EMULATED, 4096, null, List.of(0));
        byte[] wrongVersion = bind.clone();
        wrongVersion[4] = 9;
        assertThat(protocolError(send(wrongVersion))).contains("version 9");
        assertThat(daemon.stats().malformed()).isEqualTo(10);
        assertThat(log).anyMatch(l -> l.startsWith("malformed request from pid "));
        assertStillServing();
    }

    @Test
    void everyTruncationOfABindRequestEndsTheConnectionWithoutABinding() throws Exception {
        byte[] bind = Wire.bindRx("emu0", Wire.DMABUF_EMULATED, 4096, null, List.of(0, 1));
        for (int n = 1; n < bind.length; n++) {
            byte[] reply = send(Arrays.copyOf(bind, n));
            if (reply != null) {
                assertThat(protocolError(reply)).as("cut at %d", n).contains("ended");
            }
        }
        // within the announced length every byte was sent, so each cut is a frame the stream ended inside
        assertThat(daemon.stats().malformed()).isEqualTo(bind.length - 1);
        assertThat(daemon.stats().binds()).isZero();
        assertStillServing();
    }

    @Test
    void descriptorsWhereNoneBelongAreClosedAndMissingOnesRefused() throws Exception {
        int memfd = Syscalls.memfdCreate("bindd-hostile-fd", LinuxConstants.MFD_CLOEXEC);
        Syscalls.check(Syscalls.ftruncate(memfd, 4096), "ftruncate");
        try {
            byte[] passed = Wire.bindRx("emu0", Wire.DMABUF_PASSED, 4096, null, List.of(0));
            byte[] allocated = Wire.bindRx("emu0", Wire.DMABUF_EMULATED, 4096, null, List.of(0));
            assertThat(protocolError(send(passed))).contains("exactly one descriptor").contains("carried 0");
            assertThat(protocolError(send(allocated, memfd))).contains("no descriptor").contains("carried 1");
            assertThat(protocolError(send(passed, memfd, memfd, memfd))).contains("carried 3");
            assertThat(protocolError(send(Wire.stats(), memfd))).contains("no descriptor");
            assertThat(protocolError(send(new byte[] {0, 0, 0, 2, 7}, memfd))).contains("ended");
            assertThat(openCopies("bindd-hostile-fd")).as("the daemon closed every copy it was sent").isEqualTo(1);
            assertThat(daemon.stats().binds()).isZero();
            assertStillServing();
        } finally {
            Syscalls.close(memfd);
        }
    }

    @Test
    void aClientThatLeavesRightAfterItsBindRequestLeavesNothingBound() throws Exception {
        for (int i = 0; i < 20; i++) {
            try (UnixSocket s = UnixSocket.connect(daemon.socket())) {
                s.writeFrame(Wire.bindRx("emu0", Wire.DMABUF_EMULATED, 8192, null, List.of(i % 2)), -1);
            } // closed before reading the answer: the daemon binds, answers into the void, then releases
        }
        // connections still in the accept queue count nowhere yet: wait until all 20 requests were answered
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (daemon.stats().binds() + daemon.stats().refused() < 20 && System.nanoTime() < deadline) {
            Thread.sleep(2);
        }
        assertStillServing();
        // a queue the previous client's binding still held (its end not yet read) is EEXIST, as in the kernel
        assertThat(daemon.stats().binds() + daemon.stats().refused()).isEqualTo(20 + 1);
        assertThat(daemon.stats().binds()).isGreaterThan(2);
        assertThat(((EmulatedBinder) daemon.binder()).nic().liveBindings()).isEmpty();
    }

    @Test
    void aClientStuckMidFrameDoesNotHoldUpTheOthers() throws Exception {
        try (UnixSocket stuck = UnixSocket.connect(daemon.socket())) {
            stuck.writeFrame(Arrays.copyOf(Wire.bindTx("emu0", Wire.DMABUF_EMULATED, 4096, null), 7), -1);
            assertThat(BinderLease.stats(daemon.socket()).connections()).as("the stuck one and this one").isEqualTo(2);
        }
        assertStillServing();
    }

    @Test
    void malformedNicSetupRequestsAreAnsweredWithAProtocolErrorAndSetUpNothing() throws Exception {
        InetAddress local = InetAddress.ofLiteral("127.0.0.1");
        byte[] valid = NicWire.nicSetup("emu0", List.of(0, 1), local, 5201);
        for (int n = 1; n < valid.length; n++) {
            byte[] reply = send(Arrays.copyOf(valid, n));
            if (reply != null) {
                assertThat(protocolError(reply)).as("cut at %d", n).contains("ended");
            }
        }
        long malformed = daemon.stats().malformed();
        byte[] noPort = NicWire.nicSetup("emu0", List.of(0), local, 0);
        assertThat(protocolError(send(noPort))).contains("port 0");
        assertThat(protocolError(send(NicWire.nicSetup("emu0", List.of(0), InetAddress.ofLiteral("::"), 80))))
                .contains("concrete local address");
        byte[] badLength = NicWire.nicSetup("emu0", List.of(0), local, 80);
        badLength[4 + 2 + 2 + 4 + 2 + 4] = 17;
        assertThat(protocolError(send(badLength))).contains("4 or 16 bytes, not 17");
        byte[] tooManyQueues = prefix(2 + 2 + 4 + 2, ByteBuffer.allocate(10).put((byte) 1).put((byte) Wire.NIC_SETUP)
                .putShort((short) 4).put("emu0".getBytes(StandardCharsets.US_ASCII)).putShort((short) 257).array());
        assertThat(protocolError(send(tooManyQueues))).contains("queue count 257 is outside 1..256");
        byte[] tail = Arrays.copyOf(valid, valid.length + 1);
        ByteBuffer.wrap(tail).putInt(valid.length - 4 + 1);
        assertThat(protocolError(send(tail))).contains("left over");
        int memfd = Syscalls.memfdCreate("bindd-hostile-nic", LinuxConstants.MFD_CLOEXEC);
        try {
            assertThat(protocolError(send(valid, memfd))).contains("carries no descriptor").contains("carried 1");
            assertThat(protocolError(send(NicWire.nicUndo(1), memfd))).contains("carries no descriptor");
            assertThat(openCopies("bindd-hostile-nic")).as("the daemon closed the copy it was sent").isEqualTo(1);
        } finally {
            Syscalls.close(memfd);
        }
        assertThat(daemon.stats().malformed()).isEqualTo(malformed + 7);
        assertThat(daemon.stats().nicSetups()).isZero();
        assertStillServing();
    }

    @Test
    void oneConnectionHoldsAtMostItsShareOfNicSetupsAndAllAreUndoneWithIt() throws Exception {
        InetAddress local = InetAddress.ofLiteral("127.0.0.1");
        try (UnixSocket s = UnixSocket.connect(daemon.socket())) {
            s.receiveTimeout(TimeUnit.SECONDS.toMillis(30));
            for (int i = 1; i <= ClientConnection.MAX_NIC_SETUPS; i++) {
                assertThat(NicWire.nicSet(reply(s, NicWire.nicSetup("emu0", List.of(0), local, 5200 + i))))
                        .isEqualTo(new NicWire.NicSet(i, "emu0", List.of()));
            }
            var refused = ErrorCodec.decode(reply(s, NicWire.nicSetup("emu0", List.of(0), local, 6000)));
            assertThat(refused).isInstanceOfSatisfying(SyscallException.class, e -> {
                assertThat(e.errno()).isEqualTo(Errno.of(24)); // EMFILE
                assertThat(e.explanation()).isEqualTo("one connection holds at most 4 NIC setups");
            });
            assertThat(daemon.stats().nicSetups()).isEqualTo(ClientConnection.MAX_NIC_SETUPS);
            // an id this connection does not hold is refused, and the connection goes on
            assertThat(ErrorCodec.decode(reply(s, NicWire.nicUndo(77)))).isInstanceOfSatisfying(SyscallException.class,
                    e -> assertThat(e.errno()).isEqualTo(Errno.ENOENT));
            assertThat(NicWire.nicUndone(reply(s, NicWire.nicUndo(2)))).isEqualTo(2);
            assertThat(ErrorCodec.decode(reply(s, NicWire.nicUndo(2)))).as("undone once")
                    .isInstanceOf(SyscallException.class);
            assertThat(daemon.stats().nicSetups()).isEqualTo(ClientConnection.MAX_NIC_SETUPS - 1);
            // the emulated NIC checks what bind-rx checks
            assertThat(ErrorCodec.decode(reply(s, NicWire.nicSetup("eth9", List.of(0), local, 80))))
                    .isInstanceOfSatisfying(SyscallException.class, e -> assertThat(e.errno()).isEqualTo(Errno.ENODEV));
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (daemon.stats().nicSetups() != 0 && System.nanoTime() < deadline) {
            Thread.sleep(2);
        }
        assertThat(daemon.stats().nicSetups()).as("undone with the connection").isZero();
        assertThat(log.stream().filter(l -> l.contains("undone: its connection ended")).count()).isEqualTo(3);
        assertStillServing();
    }

    private static byte[] reply(UnixSocket s, byte[] frame) throws Exception {
        s.writeFrame(frame, -1);
        UnixSocket.Frame f = s.readFrame();
        assertThat(f).as("an answer").isNotNull();
        UnixSocket.closeAll(f.fds());
        return f.body();
    }

    @Test
    void randomBytesNeverTakeTheDaemonDown() throws Exception {
        long seed = Soak.seed(11_2026);
        int cases = Soak.cases(300);
        SplittableRandom rnd = new SplittableRandom(seed);
        byte[][] valids = {Wire.bindRx("emu0", Wire.DMABUF_EMULATED, 4096, null, List.of(1)),
                NicWire.nicSetup("emu0", List.of(1), InetAddress.ofLiteral("127.0.0.1"), 5201), NicWire.nicUndo(1)};
        int answered = 0;
        for (int i = 0; i < cases; i++) {
            byte[] b;
            switch (rnd.nextInt(3)) {
                case 0 -> {
                    b = new byte[rnd.nextInt(1, 8192)];
                    rnd.nextBytes(b);
                }
                case 1 -> { // a plausible prefix, random body
                    b = new byte[rnd.nextInt(6, 200)];
                    rnd.nextBytes(b);
                    ByteBuffer.wrap(b).putInt(b.length - 4).put((byte) 1);
                }
                default -> { // a valid request with bytes flipped
                    b = valids[rnd.nextInt(valids.length)].clone();
                    for (int k = rnd.nextInt(1, 4); k > 0; k--) {
                        b[rnd.nextInt(b.length)] = (byte) rnd.nextInt(256);
                    }
                }
            }
            try {
                if (send(b) != null) {
                    answered++;
                }
            } catch (Exception e) {
                throw new AssertionError("seed " + seed + " case " + i, e);
            }
        }
        assertThat(answered).isPositive();
        System.out.printf("bindd hostile clients: %d random connections (seed %d), %d answered, %d malformed%n",
                cases, seed, answered, daemon.stats().malformed());
        assertStillServing();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (daemon.stats().nicSetups() != 0 && System.nanoTime() < deadline) {
            Thread.sleep(2);
        }
        assertThat(daemon.stats().nicSetups()).as("every setup a random connection made ended with it").isZero();
    }

    private static long openCopies(String memfdName) throws IOException {
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.map(p -> {
                try {
                    return Files.readSymbolicLink(p).toString();
                } catch (IOException e) {
                    return "";
                }
            }).filter(s -> s.startsWith("/memfd:" + memfdName)).count();
        }
    }
}
