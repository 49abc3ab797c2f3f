package dev.devmem.reactor;

import dev.devmem.api.DmabufSource;
import dev.devmem.api.Errno;
import dev.devmem.api.NetlinkException;
import dev.devmem.ffm.DevmemBackends;
import dev.devmem.ffm.sys.Syscalls;
import dev.devmem.ffm.testing.TestNetns;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;

import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static dev.devmem.ffm.sys.LinuxConstants.MFD_CLOEXEC;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A receiver subscribed on a thread in another network namespace binds and listens in that
 * namespace, although its blocking setup runs on the library's pooled setup threads.
 */
class NetnsAffinityTest {

    @Test
    void listenerAndBindingLiveInTheSubscribersNamespace() throws Exception {
        try (TestNetns netns = TestNetns.create()) {
            int port = 40_000 + (int) (ProcessHandle.current().pid() % 20_000);
            InetSocketAddress addr = new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
            AtomicLong received = new AtomicLong();
            CompletableFuture<Void> done = new CompletableFuture<>();
            DevmemReceiver r = DevmemReceiver.create(DevmemBackends.linux());
            Disposable d = netns.call(() -> r.receiveOne(addr)
                    .doOnNext(f -> {
                        received.addAndGet(f.length());
                        f.release();
                    })
                    .subscribe(f -> { }, done::completeExceptionally, () -> done.complete(null)));
            Await.until("the listener is up in the test namespace",
                    () -> netns.exec("ss", "-ltnH", "sport = :" + port).contains(":" + port));
            assertThat(new String(new ProcessBuilder("ss", "-ltnH", "sport = :" + port).start()
                    .getInputStream().readAllBytes())).as("nothing listens on that port in the root namespace")
                    .doesNotContain(":" + port);
            netns.call(() -> {
                try (Socket s = new Socket(addr.getAddress(), port)) {
                    OutputStream out = s.getOutputStream();
                    out.write(new byte[1 << 20]);
                }
                return null;
            });
            done.get(30, TimeUnit.SECONDS);
            assertThat(received.get()).isEqualTo(1 << 20);
            d.dispose();
        }
    }

    @Test
    void aBindRequestedFromTheNamespaceIsRefusedThereByItsVeth() throws Exception {
        int memfd = Syscalls.check(Syscalls.memfdCreate("devmem-netns-test", MFD_CLOEXEC), "memfd_create");
        try (TestNetns netns = TestNetns.create()) {
            Syscalls.check(Syscalls.ftruncate(memfd, 1 << 20), "ftruncate");
            DevmemReceiver r = DevmemReceiver.create(DevmemBackends.linux())
                    .interfaceName("va").rxQueues(0).dmabuf(DmabufSource.ofFd(memfd, 1 << 20));
            CompletableFuture<Throwable> error = new CompletableFuture<>();
            netns.call(() -> r.receiveOne(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
                    .subscribe(f -> f.release(), error::complete, () -> error.complete(null)));
            Throwable e = error.get(30, TimeUnit.SECONDS);
            // "va" exists only in the test namespace: ENODEV would mean the bind ran in the root one
            assertThat(e).isInstanceOf(NetlinkException.class);
            assertThat(((NetlinkException) e).errno()).isEqualTo(Errno.EOPNOTSUPP);
            assertThat(((NetlinkException) e).offendingAttribute()).contains("dmabuf.ifindex");
        } finally {
            Syscalls.close(memfd);
        }
    }
}
