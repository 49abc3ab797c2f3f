package dev.devmem.gateway;

import dev.devmem.gateway.store.DirectIo;
import dev.devmem.gateway.store.FileObjectStore;
import dev.devmem.gateway.store.ObjectStore;
import dev.devmem.gateway.store.ThrottledStore;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/**
 * {@code storage-gateway}: receives devmem flows on the emulated devmem NIC and stores each as an
 * object (local files by default, or an S3 bucket), serving them back over HTTP. Prints one line
 * {@code storage-gateway: flows HOST:PORT http HOST:PORT store ...} once it accepts flows, one line
 * per stored or failed flow, and runs until killed (SIGTERM/Ctrl-C close it cleanly: unfinished
 * objects are aborted, never half visible).
 */
@Command(name = "storage-gateway", mixinStandardHelpOptions = true,
        description = {"Store devmem flows as objects; tokens go back only once their bytes are durable.", ""},
        footerHeading = "%nExamples:%n",
        footer = {
                "  storage-gateway --dir /tmp/objects",
                "  yes $(echo -e \\\\x01\\\\x02\\\\x03\\\\x04\\\\x05\\\\x06) | tr \\\\n \\\\0 | head -c 1G | nc 127.0.0.1 9000",
                "  curl -s localhost:8080/objects"})
public final class Main implements Callable<Integer> {

    @Option(names = "--listen", paramLabel = "HOST:PORT", defaultValue = "127.0.0.1:9000",
            description = "Where devmem flows connect (default ${DEFAULT-VALUE}; port 0 picks one).")
    String listen;

    @Option(names = "--http", paramLabel = "HOST:PORT", defaultValue = "127.0.0.1:8080",
            description = "Where objects are served (default ${DEFAULT-VALUE}; 'off' for none).")
    String http;

    @Option(names = "--dir", paramLabel = "DIR", defaultValue = "gateway-data",
            description = "Local object directory (default ${DEFAULT-VALUE}).")
    Path dir;

    @Option(names = "--direct-io", paramLabel = "auto|on|off", defaultValue = "auto",
            description = "O_DIRECT writes: auto uses them where the filesystem allows (default ${DEFAULT-VALUE}).")
    String directIo;

    @Option(names = "--fsync", paramLabel = "group|object", defaultValue = "group",
            description = "group: group commit whenever the writer catches up; object: once per object plus what the "
                    + "token budget forces (default ${DEFAULT-VALUE}).")
    String fsync;

    @Option(names = "--dmabuf", paramLabel = "SIZE", defaultValue = "64M",
            description = "Emulated dmabuf size, shared by all flows (default ${DEFAULT-VALUE}).")
    String dmabuf;

    @Option(names = "--token-budget", paramLabel = "FRAGS", defaultValue = "0",
            description = "Frags one flow may hold before reading stops (0: derived from the dmabuf).")
    int tokenBudget;

    @Option(names = "--max-flows", paramLabel = "N", defaultValue = "64",
            description = "Flows stored at once (default ${DEFAULT-VALUE}).")
    int maxFlows;

    @Option(names = "--header-split-failures", paramLabel = "RATE", defaultValue = "0",
            description = "Fraction of packets whose first bytes the emulated NIC leaves in host memory (LINEAR frags).")
    double headerSplitFailures;

    @Option(names = "--throttle", paramLabel = "RATE",
            description = "Slow the disk to RATE bytes/s (e.g. 20M), to watch the sender being pushed back.")
    String throttle;

    @Option(names = "--s3-endpoint", paramLabel = "URL",
            description = "Store in S3 (any S3-compatible endpoint) instead of --dir.")
    URI s3Endpoint;

    @Option(names = "--s3-bucket", paramLabel = "NAME", defaultValue = "devmem-objects",
            description = "Bucket (created if missing; default ${DEFAULT-VALUE}).")
    String s3Bucket;

    @Option(names = "--s3-part-size", paramLabel = "SIZE", defaultValue = "8M",
            description = "Multipart part size, >= 5M (default ${DEFAULT-VALUE}).")
    String s3PartSize;

    public static void main(String[] args) {
        System.exit(new CommandLine(new Main()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        PrintStream out = System.out;
        SyncPolicy sync = switch (fsync.toLowerCase(Locale.ROOT)) {
            case "group" -> SyncPolicy.group();
            case "object" -> SyncPolicy.object();
            default -> throw new CommandLine.ParameterException(new CommandLine(this), "--fsync must be group or object");
        };
        GatewayConfig config = GatewayConfig.defaults()
                .withListen(hostPort(listen))
                .withHttp("off".equals(http) ? null : hostPort(http))
                .withDmabuf(Sizes.parse(dmabuf), 4096)
                .withTokenBudget(tokenBudget)
                .withMaxFlows(maxFlows)
                .withSync(sync)
                .withHeaderSplitFailures(headerSplitFailures);
        ObjectStore store = openStore();
        if (throttle != null) {
            store = new ThrottledStore(store, ThrottledStore.Throttle.rate(Sizes.parse(throttle)));
        }
        CountDownLatch stopped = new CountDownLatch(1);
        StorageGateway g = StorageGateway.start(config, store, line -> {
            out.println(line);
            out.flush();
        });
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            g.close();
            stopped.countDown();
        }));
        out.println("storage-gateway: flows " + format(g.flowAddress()) + " http "
                + (g.httpAddress() == null ? "off" : format(g.httpAddress())) + " store " + store.describe()
                + " budget " + g.flowTokenBudget() + " frags/flow " + config.sync().mode().name().toLowerCase(Locale.ROOT)
                + " fsync");
        out.flush();
        stopped.await();
        return 0;
    }

    private ObjectStore openStore() throws Exception {
        if (s3Endpoint != null) {
            return dev.devmem.gateway.s3.S3ObjectStore.open(s3Endpoint, s3Bucket, Sizes.parse(s3PartSize));
        }
        DirectIo.Mode mode = DirectIo.Mode.valueOf(directIo.toUpperCase(Locale.ROOT));
        return FileObjectStore.open(dir, mode);
    }

    static String format(InetSocketAddress a) {
        return a.getAddress().getHostAddress() + ":" + a.getPort();
    }

    static InetSocketAddress hostPort(String s) {
        int colon = s.lastIndexOf(':');
        if (colon < 0) {
            return new InetSocketAddress(InetAddress.getLoopbackAddress(), Integer.parseInt(s));
        }
        String host = s.substring(0, colon);
        return new InetSocketAddress(host.isEmpty() ? "0.0.0.0" : host, Integer.parseInt(s.substring(colon + 1)));
    }
}
