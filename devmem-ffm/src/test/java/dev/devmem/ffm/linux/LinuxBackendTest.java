package dev.devmem.ffm.linux;

import dev.devmem.api.Errno;
import dev.devmem.api.SyscallException;
import dev.devmem.api.spi.BackendAvailability;
import dev.devmem.api.spi.DevmemListener;
import dev.devmem.api.spi.DevmemSocket;
import dev.devmem.api.spi.IoWaiter;
import dev.devmem.api.spi.Pollable;
import dev.devmem.api.spi.ReceiveBatch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPInputStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class LinuxBackendTest {
    private final LinuxBackend backend = new LinuxBackend();

    private static InetSocketAddress any(String ip) throws Exception {
        return new InetSocketAddress(InetAddress.getByName(ip), 0);
    }

    static DevmemSocket acceptOne(DevmemListener listener, IoWaiter waiter) throws Exception {
        while (true) {
            DevmemSocket s = listener.accept();
            if (s != null) {
                return s;
            }
            waiter.await(new Pollable[] {listener}, 1, -1);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"127.0.0.1", "::1"})
    void connectToAPortNobodyListensOnIsEconnrefusedNamingTheAddress(String ip) throws Exception {
        int port;
        try (DevmemListener l = backend.listen(any(ip), 1)) {
            port = l.localAddress().getPort();
        }
        String shown = ip.contains(":") ? "[" + ip + "]:" + port : ip + ":" + port;
        assertThatThrownBy(() -> backend.connect(new InetSocketAddress(InetAddress.getByName(ip), port)))
                .isInstanceOfSatisfying(SyscallException.class, e -> {
                    assertThat(e.errno()).isEqualTo(Errno.ECONNREFUSED);
                    assertThat(e.operation()).isEqualTo("connect(" + shown + ")");
                    assertThat(e.getMessage()).isEqualTo("connect(" + shown + ") failed: ECONNREFUSED (111, Connection refused)");
                });
    }

    @ParameterizedTest
    @ValueSource(strings = {"127.0.0.1", "::1"})
    void listenConnectAcceptAndEndOfStreamPerFamily(String ip) throws Exception {
        try (DevmemListener listener = backend.listen(any(ip), 16); IoWaiter waiter = backend.newIoWaiter()) {
            assertThat(listener.localAddress().getAddress()).isEqualTo(InetAddress.getByName(ip));
            assertThat(listener.localAddress().getPort()).isPositive();
            assertThat(listener.accept()).as("nothing pending").isNull();
            try (DevmemSocket client = backend.connect(listener.localAddress());
                 DevmemSocket server = acceptOne(listener, waiter)) {
                assertThat(client.remoteAddress()).isEqualTo(listener.localAddress());
                assertThat(server.remoteAddress()).isEqualTo(client.localAddress());
                assertThat(server.localAddress()).isEqualTo(listener.localAddress());
                client.shutdownOutput();
                ReceiveBatch batch = new ReceiveBatch(8);
                int n;
                while ((n = server.receive(batch)) == 0) {
                    waiter.await(new Pollable[] {server}, 1, -1);
                }
                assertThat(n).isEqualTo(DevmemSocket.END_OF_STREAM);
            }
        }
    }

    @Test
    void listeningOnAnAddressInUseIsEaddrinuseNamingIt() throws Exception {
        try (DevmemListener first = backend.listen(any("127.0.0.1"), 1)) {
            int port = first.localAddress().getPort();
            assertThatThrownBy(() -> backend.listen(first.localAddress(), 1))
                    .isInstanceOfSatisfying(SyscallException.class, e -> {
                        assertThat(e.errno()).isEqualTo(Errno.EADDRINUSE);
                        assertThat(e.operation()).isEqualTo("bind(127.0.0.1:" + port + ")");
                    });
        }
    }

    @Test
    void aClosedListenerRefusesToAccept() throws Exception {
        DevmemListener l = backend.listen(any("127.0.0.1"), 1);
        l.close();
        l.close();
        assertThatThrownBy(l::accept).isInstanceOfSatisfying(SyscallException.class,
                e -> assertThat(e.errno()).isEqualTo(Errno.EBADF));
    }

    /** Checked against the kernel's own build config, an independent witness of CONFIG_NET_DEVMEM. */
    @Test
    void availabilityIsTheKernelsAnswerToTheDevmemProbe() throws Exception {
        Path config = Path.of("/proc/config.gz");
        assumeTrue(Files.isReadable(config), "no /proc/config.gz to compare with");
        String text;
        try (InputStream in = new GZIPInputStream(Files.newInputStream(config))) {
            text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        BackendAvailability a = backend.availability();
        assertThat(backend.name()).isEqualTo("linux");
        if (text.contains("\nCONFIG_NET_DEVMEM=y")) {
            assertThat(a.available()).isTrue();
            assertThat(a.reason()).contains("SO_DEVMEM_DONTNEED").contains("answered 0");
            assertThat(backend.unavailabilityCause()).isEmpty();
        } else {
            assertThat(a.available()).isFalse();
            assertThat(backend.unavailabilityCause()).get().isInstanceOfSatisfying(SyscallException.class,
                    e -> assertThat(e.errno()).isEqualTo(Errno.ENOPROTOOPT));
        }
    }
}
