package dev.devmem.ffm.netdev;

import dev.devmem.api.DevmemUnsupportedException;
import dev.devmem.api.Errno;
import dev.devmem.api.NetlinkException;
import dev.devmem.ffm.netlink.GenlFamily;
import dev.devmem.ffm.netlink.GenlOp;
import dev.devmem.ffm.netlink.GenlRequest;
import dev.devmem.ffm.sys.Syscalls;
import dev.devmem.ffm.testing.TestNetns;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;

import static dev.devmem.ffm.netdev.NetdevSpec.*;
import static dev.devmem.ffm.sys.LinuxConstants.MFD_CLOEXEC;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * bind-rx and bind-tx against the real kernel, inside a throw-away namespace with lo and a veth
 * pair: neither can do devmem, so every bind is refused, and the point is that each refusal is
 * reported exactly (errno, the kernel's text, the attribute by name, the policy) and explained.
 */
class NetdevBindTest {
    private static TestNetns ns;
    private static int lo;
    private static int va;

    @BeforeAll
    static void namespace() throws Exception {
        ns = TestNetns.create();
        lo = ns.call(() -> Syscalls.ifNameToIndex("lo"));
        va = ns.call(() -> Syscalls.ifNameToIndex("va"));
        assertThat(lo).isEqualTo(1);
        assertThat(va).isGreaterThan(1);
    }

    @AfterAll
    static void cleanup() {
        if (ns != null) {
            ns.close();
        }
    }

    /** Runs {@code body} in the namespace with a Netdev and a real fd (a memfd) standing in for the dmabuf. */
    private interface WithNetdev<T> {
        T run(Netdev netdev, int dmabufFd) throws Exception;
    }

    private static <T> T inNs(WithNetdev<T> body) throws Exception {
        Callable<T> c = () -> {
            int memfd = Syscalls.check(Syscalls.memfdCreate("devmem-test-dmabuf", MFD_CLOEXEC), "memfd_create");
            try (Netdev netdev = Netdev.open()) {
                return body.run(netdev, memfd);
            } finally {
                Syscalls.close(memfd);
            }
        };
        return ns.call(c);
    }

    private static NetlinkException bindRxFailure(int ifindex, List<Integer> queues) throws Exception {
        return inNs((netdev, fd) -> {
            try (NetdevRxBinding b = netdev.bindRx(BindRxParams.of(ifindex, queues, fd, 1 << 20))) {
                throw new AssertionError("bind-rx on ifindex " + ifindex + " succeeded: " + b);
            } catch (NetlinkException e) {
                return e;
            }
        });
    }

    @Test
    void bindRxOnLoopbackIsRefusedForLackOfAQueueApi() throws Exception {
        NetlinkException e = bindRxFailure(lo, List.of(0));
        assertThat(e.operation()).isEqualTo("netdev bind-rx");
        assertThat(e.errno()).isEqualTo(Errno.EOPNOTSUPP);
        assertThat(e.offendingAttribute()).contains("dmabuf.ifindex");
        assertThat(e.extackMessage()).isEmpty();
        assertThat(e.missingAttribute()).isEmpty();
        assertThat(e.explanation()).contains("no queue-management support").contains("lo, veth");
        assertThat(e.getMessage()).startsWith("netdev bind-rx failed: EOPNOTSUPP (95, Operation not supported); "
                + "rejected attribute dmabuf.ifindex. the device has no queue-management support");
    }

    @Test
    void bindRxOnVethIsRefusedTheSameWayWhateverTheQueues() throws Exception {
        // the device check precedes the queue checks: queue 7 does not exist, yet the answer is the same
        NetlinkException e = bindRxFailure(va, List.of(0, 7));
        assertThat(e.errno()).isEqualTo(Errno.EOPNOTSUPP);
        assertThat(e.offendingAttribute()).contains("dmabuf.ifindex");
        assertThat(e.explanation()).contains("cannot do devmem");
    }

    @Test
    void bindRxOnAMissingInterfaceIsEnodev() throws Exception {
        NetlinkException e = bindRxFailure(9999, List.of(0));
        assertThat(e.errno()).isEqualTo(Errno.ENODEV);
        assertThat(e.offendingAttribute()).isEmpty();
        assertThat(e.extackMessage()).isEmpty();
        assertThat(e.explanation()).contains("no interface with ifindex 9999 in this network namespace");
    }

    @Test
    void bindRxIfindexZeroViolatesThePolicy() throws Exception {
        NetlinkException e = bindRxFailure(0, List.of(0));
        assertThat(e.errno()).isEqualTo(Errno.ERANGE);
        assertThat(e.extackMessage()).contains("integer out of range");
        assertThat(e.offendingAttribute()).contains("dmabuf.ifindex");
        assertThat(e.policy()).contains("u32 min 1 max 4294967295");
        assertThat(e.explanation()).isNull();
    }

    @Test
    void bindRxWithoutFdNamesTheMissingAttribute() throws Exception {
        NetlinkException e = inNs((netdev, fd) -> {
            GenlRequest r = netdev.writer("bind-rx", CMD_BIND_RX, DMABUF)
                    .u32(DMABUF_IFINDEX, va)
                    .beginArrayElement(DMABUF_QUEUES).u32(QUEUE_ID, 0).u32(QUEUE_TYPE, 0).endNest()
                    .build();
            return expectRefused(r, NetdevExplanations.bindRx(va));
        });
        assertThat(e.errno()).isEqualTo(Errno.EINVAL);
        assertThat(e.missingAttribute()).contains("dmabuf.fd");
        assertThat(e.offendingAttribute()).isEmpty();
    }

    @Test
    void bindRxWithoutQueuesNamesTheMissingAttribute() throws Exception {
        NetlinkException e = inNs((netdev, fd) -> expectRefused(netdev.writer("bind-rx", CMD_BIND_RX, DMABUF)
                .u32(DMABUF_IFINDEX, va).u32(DMABUF_FD, fd).build(), NetdevExplanations.bindRx(va)));
        assertThat(e.errno()).isEqualTo(Errno.EINVAL);
        assertThat(e.missingAttribute()).contains("dmabuf.queues");
    }

    @Test
    void bindRxWithAnOutOfRangeQueueTypeNamesTheNestedAttribute() throws Exception {
        NetlinkException e = inNs((netdev, fd) -> expectRefused(netdev.writer("bind-rx", CMD_BIND_RX, DMABUF)
                .u32(DMABUF_IFINDEX, va).u32(DMABUF_FD, fd)
                .beginArrayElement(DMABUF_QUEUES).u32(QUEUE_ID, 0).u32(QUEUE_TYPE, 0).endNest()
                .beginArrayElement(DMABUF_QUEUES).u32(QUEUE_ID, 1).u32(QUEUE_TYPE, 2).endNest()
                .build(), NetdevExplanations.bindRx(va)));
        assertThat(e.errno()).isEqualTo(Errno.ERANGE);
        assertThat(e.offendingAttribute()).contains("dmabuf.queues[1].type");
        assertThat(e.policy()).hasValueSatisfying(p -> assertThat(p).startsWith("u32").contains("max 1"));
    }

    @Test
    void bindRxWithAnUnknownAttributeIsRejectedByName() throws Exception {
        NetlinkException e = inNs((netdev, fd) -> expectRefused(netdev.writer("bind-rx", CMD_BIND_RX, DMABUF)
                .u32(DMABUF_IFINDEX, va).u32(DMABUF_FD, fd).u32(9, 1)
                .build(), NetdevExplanations.bindRx(va)));
        assertThat(e.errno()).isEqualTo(Errno.EINVAL);
        assertThat(e.extackMessage()).contains("Unknown attribute type");
        assertThat(e.offendingAttribute()).contains("dmabuf.#9");
    }

    @Test
    void bindTxKeepsTheKernelsText() throws Exception {
        for (int ifindex : new int[] {lo, va}) {
            NetlinkException e = inNs((netdev, fd) -> {
                try (NetdevTxBinding b = netdev.bindTx(BindTxParams.of(ifindex, fd, 1 << 20))) {
                    throw new AssertionError("bind-tx succeeded: " + b);
                } catch (NetlinkException x) {
                    return x;
                }
            });
            assertThat(e.operation()).isEqualTo("netdev bind-tx");
            assertThat(e.errno()).isEqualTo(Errno.EOPNOTSUPP);
            assertThat(e.extackMessage()).contains("Driver does not support netmem TX");
            assertThat(e.getMessage()).contains("kernel says \"Driver does not support netmem TX\"");
        }
    }

    @Test
    void bindTxWithQueuesIsAnUnsupportedAttribute() throws Exception {
        NetlinkException e = inNs((netdev, fd) -> expectRefused(netdev.writer("bind-tx", CMD_BIND_TX, DMABUF)
                .u32(DMABUF_IFINDEX, va).u32(DMABUF_FD, fd)
                .beginArrayElement(DMABUF_QUEUES).u32(QUEUE_ID, 0).u32(QUEUE_TYPE, 0).endNest()
                .build(), NetdevExplanations.bindTx(va)));
        assertThat(e.errno()).isEqualTo(Errno.EINVAL);
        assertThat(e.extackMessage()).contains("Unsupported attribute");
        assertThat(e.offendingAttribute()).contains("dmabuf.queues[0]");
    }

    @Test
    void bindTxOnAMissingInterfaceIsEnodev() throws Exception {
        NetlinkException e = inNs((netdev, fd) -> {
            try (NetdevTxBinding b = netdev.bindTx(BindTxParams.of(9999, fd, 1 << 20))) {
                throw new AssertionError("bind-tx succeeded: " + b);
            } catch (NetlinkException x) {
                return x;
            }
        });
        assertThat(e.errno()).isEqualTo(Errno.ENODEV);
        assertThat(e.explanation()).contains("ifindex 9999");
    }

    @Test
    void aFailedBindLeavesNoSocketBehind() throws Exception {
        inNs((netdev, fd) -> {
            long before = openSockets();
            for (int i = 0; i < 5; i++) {
                assertThatThrownBy(() -> netdev.bindRx(BindRxParams.of(va, List.of(0), fd, 4096)))
                        .isInstanceOf(NetlinkException.class);
                assertThatThrownBy(() -> netdev.bindTx(BindTxParams.of(va, fd, 4096)))
                        .isInstanceOf(NetlinkException.class);
            }
            assertThat(openSockets()).isEqualTo(before);
            // and the caller's dmabuf fd is still open: a failed bind takes nothing over
            assertThat(Files.exists(Path.of("/proc/self/fd/" + fd))).isTrue();
            return null;
        });
    }

    @Test
    void aKernelWithoutNetdevIsUnsupportedWithTheVersionThatAddedIt() throws Exception {
        assertThatThrownBy(() -> ns.call(() -> Netdev.open("netdev-absent")))
                .isInstanceOfSatisfying(DevmemUnsupportedException.class, e -> {
                    assertThat(e.feature()).isEqualTo("netdev");
                    assertThat(e.requiredKernel()).contains("6.12");
                    assertThat(e.getMessage()).contains("devmem RX needs Linux 6.12");
                    assertThat(e.getCause()).isInstanceOfSatisfying(NetlinkException.class,
                            c -> assertThat(c.errno()).isEqualTo(Errno.ENOENT));
                });
    }

    @Test
    void aFamilyWithoutBindTxIsUnsupportedSince616() throws Exception {
        // This kernel has bind-tx; a 6.12-6.15 kernel registers the family without op 15. Same family, op removed.
        inNs((netdev, fd) -> {
            GenlFamily real = netdev.family();
            TreeMap<Integer, GenlOp> ops = new TreeMap<>(real.ops());
            ops.remove(CMD_BIND_TX);
            GenlFamily older = new GenlFamily(real.name(), real.id(), real.version(), real.headerSize(),
                    real.maxAttr(), ops, real.groups());
            Netdev old = new Netdev(null, older);
            assertThatThrownBy(() -> old.bindTx(BindTxParams.of(va, fd, 4096)))
                    .isInstanceOfSatisfying(DevmemUnsupportedException.class, e -> {
                        assertThat(e.feature()).isEqualTo("netdev bind-tx");
                        assertThat(e.requiredKernel()).contains("6.16");
                        assertThat(e.getMessage()).contains("devmem TX needs Linux 6.16");
                    });
            ops.remove(CMD_BIND_RX);
            Netdev oldest = new Netdev(null, new GenlFamily(real.name(), real.id(), real.version(),
                    real.headerSize(), real.maxAttr(), ops, Map.of()));
            assertThatThrownBy(() -> oldest.bindRx(BindRxParams.of(va, List.of(0), fd, 4096)))
                    .isInstanceOfSatisfying(DevmemUnsupportedException.class,
                            e -> assertThat(e.requiredKernel()).contains("6.12"));
            return null;
        });
    }

    static NetlinkException expectRefused(GenlRequest r, dev.devmem.ffm.netlink.ErrorExplainer explainer) {
        try {
            BindingSocket s = Netdev.bindRaw(r, explainer);
            s.close();
            throw new AssertionError(r + " was accepted, id " + s.id());
        } catch (NetlinkException e) {
            return e;
        } catch (dev.devmem.api.DevmemException e) {
            throw new AssertionError(e);
        }
    }

    static long openSockets() throws IOException {
        try (var fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.filter(p -> {
                try {
                    return Files.readSymbolicLink(p).toString().startsWith("socket:");
                } catch (IOException gone) {
                    return false;
                }
            }).count();
        }
    }
}
