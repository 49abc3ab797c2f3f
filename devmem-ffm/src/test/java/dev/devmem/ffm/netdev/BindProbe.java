package dev.devmem.ffm.netdev;

import dev.devmem.api.NetlinkException;
import dev.devmem.ffm.sys.Syscalls;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static dev.devmem.ffm.sys.LinuxConstants.MFD_CLOEXEC;

/**
 * A child process for {@link NetdevPrivilegeTest}: tries bind-rx or bind-tx on an ifindex with a
 * memfd as the dmabuf and prints what happened as {@code key=value} lines on stdout.
 * Usage: {@code BindProbe rx|tx IFINDEX}.
 */
public final class BindProbe {
    private BindProbe() {
    }

    public static void main(String[] args) throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("CapEff:")) {
                System.out.println("capeff=" + line.substring(7).strip());
            }
        }
        int ifindex = Integer.parseInt(args[1]);
        int fd = Syscalls.check(Syscalls.memfdCreate("probe", MFD_CLOEXEC), "memfd_create");
        try (Netdev netdev = Netdev.open()) {
            AutoCloseable b = args[0].equals("rx")
                    ? netdev.bindRx(BindRxParams.of(ifindex, List.of(0), fd, 4096))
                    : netdev.bindTx(BindTxParams.of(ifindex, fd, 4096));
            b.close();
            System.out.println("result=bound");
        } catch (NetlinkException e) {
            System.out.println("result=refused");
            System.out.println("errno=" + e.errno().name());
            System.out.println("extack=" + e.extackMessage().orElse(""));
            System.out.println("explanation=" + e.explanation());
        }
        System.out.flush();
    }
}
