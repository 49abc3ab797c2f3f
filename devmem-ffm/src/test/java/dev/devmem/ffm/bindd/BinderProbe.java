package dev.devmem.ffm.bindd;

import dev.devmem.api.DevmemException;
import dev.devmem.api.DmabufSource;
import dev.devmem.api.NetlinkException;
import dev.devmem.api.RxBindingSpec;
import dev.devmem.api.SyscallException;
import dev.devmem.api.TxBindingSpec;
import dev.devmem.api.spi.KernelNicSetup;
import dev.devmem.api.spi.RxBinding;
import dev.devmem.ffm.DevmemBackends;
import dev.devmem.ffm.nicsetup.NicSetupException;
import dev.devmem.ffm.sys.Syscalls;

import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static dev.devmem.ffm.sys.LinuxConstants.MFD_CLOEXEC;

/**
 * A child process for the bindd tests, usually run unprivileged ({@code setpriv}): binds through the
 * daemon and prints what happened as {@code key=value} lines.
 * Usage: {@code BinderProbe SOCKET rx|tx IFNAME} (the Linux backend, a memfd passed as the dmabuf),
 * {@code BinderProbe SOCKET loop IFNAME} (bind-rx requests until killed),
 * or {@code BinderProbe SOCKET hold IFNAME QUEUE} (the emulated NIC: bind, print, then wait to be killed),
 * {@code BinderProbe SOCKET nic IFNAME QUEUE ADDR PORT} (NIC setup through the daemon, then its restore),
 * {@code BinderProbe SOCKET nichold IFNAME QUEUE ADDR PORT EMUIF EMUQUEUE} (NIC setup, then an emulated
 * binding, print, then wait to be killed).
 */
public final class BinderProbe {
    private BinderProbe() {
    }

    public static void main(String[] args) throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("CapEff:")) {
                System.out.println("capeff=" + line.substring(7).strip());
            }
            if (line.startsWith("Uid:")) {
                System.out.println("uid=" + line.substring(4).strip().split("\\s+")[1]);
            }
        }
        Path socket = Path.of(args[0]);
        String op = args[1];
        String ifname = args[2];
        if (op.equals("nic") || op.equals("nichold")) {
            nic(socket, op.equals("nichold"), args);
            return;
        }
        if (op.equals("hold")) {
            var backend = DevmemBackends.emulatedViaBinder(socket, BinderEmulatedTest.NIC);
            RxBinding b = backend.bindRx(new RxBindingSpec(ifname, List.of(Integer.parseInt(args[3])),
                    DmabufSource.emulated(16 * 4096)));
            System.out.println("result=bound");
            System.out.println("id=" + b.id());
            System.out.flush();
            Thread.sleep(Long.MAX_VALUE); // killed by the test, binding held
            return;
        }
        int fd = Syscalls.check(Syscalls.memfdCreate("probe", MFD_CLOEXEC), "memfd_create");
        var backend = DevmemBackends.linuxViaBinder(socket);
        if (op.equals("loop")) { // bind-rx requests back to back until killed: the kill lands mid-request
            RxBindingSpec spec = new RxBindingSpec(ifname, List.of(0), DmabufSource.ofFd(fd, 4096));
            for (long i = 0; ; i++) {
                try {
                    backend.bindRx(spec).close();
                } catch (DevmemException e) {
                    if (i == 0) {
                        System.out.println("first=" + e.getClass().getSimpleName());
                        System.out.flush();
                    }
                }
            }
        }
        try {
            AutoCloseable b = op.equals("rx")
                    ? backend.bindRx(new RxBindingSpec(ifname, List.of(0), DmabufSource.ofFd(fd, 4096)))
                    : backend.bindTx(new TxBindingSpec(ifname, DmabufSource.ofFd(fd, 4096)));
            b.close();
            System.out.println("result=bound");
        } catch (DevmemException e) {
            System.out.println("result=refused");
            System.out.println("type=" + e.getClass().getSimpleName());
            if (e instanceof SyscallException s) {
                System.out.println("errno=" + s.errno().name());
                System.out.println("operation=" + s.operation());
                System.out.println("explanation=" + s.explanation());
            }
            if (e instanceof NetlinkException n) {
                System.out.println("extack=" + n.extackMessage().orElse(""));
                System.out.println("offending=" + n.offendingAttribute().orElse(""));
            }
            System.out.println("message=" + e.getMessage().replace('\n', ' '));
        }
        System.out.flush();
    }

    private static void nic(Path socket, boolean hold, String[] args) throws Exception {
        KernelNicSetup setup = DevmemBackends.nicSetupViaBinder(socket);
        KernelNicSetup.Applied applied;
        try {
            applied = setup.apply(args[2], List.of(Integer.parseInt(args[3])), InetAddress.getByName(args[4]),
                    Integer.parseInt(args[5]));
        } catch (DevmemException e) {
            refused(e);
            System.out.flush();
            return;
        }
        System.out.println("result=set");
        System.out.println("changes=" + String.join("|", ((BinderNicSetup.Held) applied).changes()));
        if (hold) {
            var backend = DevmemBackends.emulatedViaBinder(socket, BinderEmulatedTest.NIC);
            RxBinding b = backend.bindRx(new RxBindingSpec(args[6], List.of(Integer.parseInt(args[7])),
                    DmabufSource.emulated(16 * 4096)));
            System.out.println("id=" + b.id());
            System.out.flush();
            Thread.sleep(Long.MAX_VALUE); // killed by the test, setup and binding held
        }
        System.out.flush();
        try {
            applied.close();
            System.out.println("restored=yes");
        } catch (DevmemException e) {
            System.out.println("restored=no");
            refused(e);
        }
        System.out.flush();
    }

    private static void refused(DevmemException e) {
        System.out.println("result=refused");
        System.out.println("type=" + e.getClass().getSimpleName());
        if (e instanceof SyscallException s) {
            System.out.println("errno=" + s.errno().name());
            System.out.println("operation=" + s.operation());
            System.out.println("explanation=" + s.explanation());
        }
        if (e instanceof NicSetupException x) {
            System.out.println("step=" + x.step());
            System.out.println("undone=" + String.join("|", x.undone()));
            System.out.println("left=" + String.join("|", x.leftInPlace()));
            if (x.getCause() instanceof NetlinkException n) {
                System.out.println("cause=NetlinkException");
                System.out.println("extack=" + n.extackMessage().orElse(""));
                System.out.println("offending=" + n.offendingAttribute().orElse(""));
            }
        }
        System.out.println("message=" + e.getMessage().replace('\n', ' '));
    }
}
