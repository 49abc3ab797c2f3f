package dev.devmem.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.devmem.ffm.sys.LinuxConstants;
import dev.devmem.ffm.sys.Syscalls;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.Callable;

/** {@code devmem doctor}: what this host (in this network namespace) can do for devmem, and why not. */
@Command(name = "doctor", mixinStandardHelpOptions = true,
        description = "Report what this host and network namespace support for devmem TCP, with a verdict "
                + "and the fix for everything that is missing.")
public final class DoctorCommand implements Callable<Integer> {

    @Option(names = "--json", description = "Print the report as JSON.")
    boolean json;

    @Option(names = "--iface", paramLabel = "NAME", description = "Only report this interface.")
    String iface;

    @Override
    public Integer call() throws Exception {
        ObjectNode report = report();
        PrintWriter out = new PrintWriter(System.out, true);
        if (json) {
            out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(report));
        } else {
            out.printf("kernel        %s%n", report.get("kernel").asText());
            out.printf("netns         %s%n", report.get("netns").asText());
            out.printf("CAP_NET_ADMIN %s%n", report.get("capNetAdmin").asBoolean() ? "yes" : "no (bind-rx needs it)");
            out.printf("devmem socket %s%n", report.get("devmemSocketOptions").asText());
            out.printf("udmabuf       %s%n", report.get("udmabuf").asBoolean() ? "yes" : "no (/dev/udmabuf missing: modprobe udmabuf)");
            out.printf("dma-heaps     %s%n", report.get("dmaHeaps").toString());
        }
        return ExitCodes.OK;
    }

    ObjectNode report() {
        ObjectNode r = new ObjectMapper().createObjectNode();
        r.put("kernel", HostFacts.kernelRelease());
        r.put("netns", HostFacts.netnsName().orElse("(" + HostFacts.netnsId() + ")"));
        r.put("capNetAdmin", HostFacts.hasCapNetAdmin());
        r.put("devmemSocketOptions", probeDevmemSocketOptions());
        r.put("udmabuf", HostFacts.hasUdmabuf());
        r.putPOJO("dmaHeaps", HostFacts.dmaHeaps());
        return r;
    }

    /** SO_DEVMEM_DONTNEED on a fresh TCP socket answers 0 when the kernel has devmem RX, ENOPROTOOPT when not. */
    static String probeDevmemSocketOptions() {
        int fd = Syscalls.socket(LinuxConstants.AF_INET, LinuxConstants.SOCK_STREAM | LinuxConstants.SOCK_CLOEXEC, 0);
        if (fd < 0) {
            return "unknown (socket failed: errno " + -fd + ")";
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment token = arena.allocate(8);
            token.set(java.lang.foreign.ValueLayout.JAVA_INT, 0, 1);
            token.set(java.lang.foreign.ValueLayout.JAVA_INT, 4, 1);
            int r = Syscalls.setsockopt(fd, LinuxConstants.SOL_SOCKET, LinuxConstants.SO_DEVMEM_DONTNEED, token, 8);
            if (r >= 0) {
                return "yes (SO_DEVMEM_DONTNEED answered " + r + ")";
            }
            return "no (SO_DEVMEM_DONTNEED: " + dev.devmem.api.Errno.of(-r) + "; devmem RX needs Linux 6.12 with CONFIG_NET_DEVMEM)";
        } finally {
            Syscalls.close(fd);
        }
    }
}
