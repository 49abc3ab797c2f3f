package dev.devmem.ffm.netdev;

import dev.devmem.ffm.netlink.NetlinkSocket;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The release path of a netdev binding. No interface of a test host accepts a real bind, so these
 * bindings sit on a plain netlink socket, which is all that closing them touches.
 */
class NetdevBindingCloseTest {

    @Test
    void closeUnbindsFirstAndThenRunsTheReleaseOnce() throws Exception {
        NetlinkSocket socket = NetlinkSocket.open();
        List<Boolean> socketOpenAtRelease = new CopyOnWriteArrayList<>();
        NetdevRxBinding b = new NetdevRxBinding(
                new BindingSocket(socket, 7, -1, false, () -> socketOpenAtRelease.add(socket.isOpen())),
                BindRxParams.of(3, List.of(0, 1), 5, 4096), "eth9");
        assertThat(b.isOpen()).isTrue();
        assertThat(b.toString()).isEqualTo("NetdevRxBinding[id 7, eth9 rx [0, 1]]");

        b.close();
        b.close();

        assertThat(socketOpenAtRelease).containsExactly(false);
        assertThat(b.isOpen()).isFalse();
        assertThat(b.toString()).isEqualTo("NetdevRxBinding[id 7, eth9 rx [0, 1], closed]");
    }

    @Test
    void racingClosesReleaseOnceAndOnlyAfterTheSocketClosed() throws Exception {
        for (int round = 0; round < 200; round++) {
            NetlinkSocket socket = NetlinkSocket.open();
            AtomicInteger releases = new AtomicInteger();
            List<Boolean> socketOpenAtRelease = new CopyOnWriteArrayList<>();
            NetdevTxBinding b = new NetdevTxBinding(new BindingSocket(socket, 1, -1, false, () -> {
                releases.incrementAndGet();
                socketOpenAtRelease.add(socket.isOpen());
            }), new BindTxParams(3, 5, 4096, false, Optional.empty()), "eth9");
            CountDownLatch go = new CountDownLatch(1);
            Thread[] closers = new Thread[4];
            for (int i = 0; i < closers.length; i++) {
                closers[i] = Thread.ofPlatform().start(() -> {
                    try {
                        go.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    b.close();
                });
            }
            go.countDown();
            for (Thread t : closers) {
                t.join();
            }
            assertThat(releases).hasValue(1);
            assertThat(socketOpenAtRelease).containsExactly(false);
        }
    }
}
