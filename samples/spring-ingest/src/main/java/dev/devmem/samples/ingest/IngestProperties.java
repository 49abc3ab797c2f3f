package dev.devmem.samples.ingest;

import dev.devmem.api.DmabufSource;
import jakarta.validation.Valid;
import jakarta.validation.constraints.AssertTrue;
import jakarta.validation.constraints.DecimalMax;
import jakarta.validation.constraints.DecimalMin;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotEmpty;
import jakarta.validation.constraints.NotNull;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;
import org.springframework.validation.annotation.Validated;

import java.time.Duration;
import java.util.List;

/**
 * The ingest service's settings, {@code devmem.ingest.*}. Bound once at startup and validated: a
 * wrong value stops the application with a report naming the property, before anything is bound.
 *
 * @param backend          {@code emulated} (default: the emulated devmem NIC over real loopback TCP, no
 *                         hardware or privileges needed) or {@code linux} (the running kernel and a real
 *                         devmem-capable NIC; needs CAP_NET_ADMIN to bind)
 * @param listenAddress    the address to accept TCP connections on; with a real NIC, the address of the
 *                         interface the flows arrive on
 * @param port             the TCP port to listen on
 * @param interfaceName    the netdev whose rx queues are bound to the dmabuf; blank: no binding (flows
 *                         steered to queues bound elsewhere, or plain TCP, which arrives as host memory)
 * @param rxQueues         the rx queues to bind; the flows must be steered to them (a flow rule on a real
 *                         NIC, see {@code nic-setup}; the emulated NIC steers the listen port to the first)
 * @param nicSetup         linux backend: let the library prepare the NIC before binding (TCP header split,
 *                         ntuple, RSS over the other queues, a flow rule for the listen address to the first
 *                         rx queue) and undo it on shutdown; false: the NIC is already prepared
 * @param dmabuf           the device memory the rx queues write into
 * @param tokenBudget      the most frags one connection may hold unreleased (reading stops there until
 *                         frags are released); empty: derived from the dmabuf size (three quarters of what
 *                         it holds), at most what it holds
 * @param emulated         the emulated NIC, when {@code backend} is {@code emulated}
 * @param processing       how frags are processed off the I/O thread
 * @param retainedResults  how many finished connections the service keeps for the {@code devmem} endpoint
 * @param closeGracePeriod after a connection's receive ends, how long the frags it delivered stay valid
 *                         unreleased; then the socket closes and the kernel reclaims them (counted as
 *                         {@code devmem.reclaimed.frags}: a leak)
 * @param shutdownTimeout  on shutdown, how long to wait for connections to hand every frag back and close
 */
@ConfigurationProperties("devmem.ingest")
@Validated
public record IngestProperties(
        @DefaultValue("emulated") @NotNull Backend backend,
        @DefaultValue("127.0.0.1") @NotBlank String listenAddress,
        @DefaultValue("5201") @Min(1) @Max(65535) int port,
        @DefaultValue("emu0") String interfaceName,
        @DefaultValue("3") @NotEmpty List<@NotNull @Min(0) Integer> rxQueues,
        @DefaultValue("false") boolean nicSetup,
        @DefaultValue @Valid Dmabuf dmabuf,
        @Min(1) Integer tokenBudget,
        @DefaultValue @Valid Emulated emulated,
        @DefaultValue @Valid Processing processing,
        @DefaultValue("100") @Min(1) @Max(100_000) int retainedResults,
        @DefaultValue("2s") @NotNull Duration closeGracePeriod,
        @DefaultValue("10s") @NotNull Duration shutdownTimeout) {

    /** Where device memory and sockets come from. */
    public enum Backend {
        /** The emulated devmem NIC ({@code DevmemBackends.emulated(config)}), over real loopback TCP. */
        EMULATED,
        /** The running Linux kernel ({@code DevmemBackends.linux()}), for a real devmem NIC. */
        LINUX
    }

    /**
     * The dmabuf bound to the rx queues.
     *
     * @param source     {@code emulated} or {@code udmabuf} (host memory as a memfd; both backends can map
     *                   it), {@code dma-heap} or {@code cuda} (linux backend only)
     * @param size       its size; it holds size / frag size rx buffers
     * @param heap       the DMA heap, for {@code dma-heap}: a name under /dev/dma_heap
     * @param cudaDevice the GPU ordinal, for {@code cuda}
     */
    public record Dmabuf(
            @DefaultValue("emulated") @NotNull Source source,
            @DefaultValue("64MB") @NotNull DataSize size,
            @DefaultValue("system") @NotBlank String heap,
            @DefaultValue("0") @Min(0) int cudaDevice) {

        /** A dmabuf exporter; see {@link DmabufSource}. */
        public enum Source { EMULATED, UDMABUF, DMA_HEAP, CUDA }

        /** The library's description of this dmabuf. */
        public DmabufSource toDmabufSource() {
            long bytes = size.toBytes();
            return switch (source) {
                case EMULATED -> DmabufSource.emulated(bytes);
                case UDMABUF -> DmabufSource.udmabuf(bytes);
                case DMA_HEAP -> DmabufSource.dmaHeap(heap, bytes);
                case CUDA -> DmabufSource.cuda(cudaDevice, bytes);
            };
        }

        @AssertTrue(message = "dmabuf size must be positive")
        public boolean isSizePositive() {
            return size == null || size.toBytes() > 0;
        }
    }

    /**
     * The emulated devmem NIC (see docs/emulated-nic.md).
     *
     * @param rxQueues                its rx queue count
     * @param fragSize                its rx buffer size: the largest DMABUF frag (a power of two)
     * @param headerSplitFailureRate  the fraction of packets whose first bytes arrive in the linear area
     *                                (LINEAR frags), as when a real NIC fails to split the header
     * @param seed                    the seed of those failures, so runs repeat
     */
    public record Emulated(
            @DefaultValue("4") @Min(1) @Max(1024) int rxQueues,
            @DefaultValue("4096") @Min(16) @Max(1 << 20) int fragSize,
            @DefaultValue("0") @DecimalMin("0") @DecimalMax("1") double headerSplitFailureRate,
            @DefaultValue("1") long seed) {

        @AssertTrue(message = "frag-size must be a power of two")
        public boolean isFragSizePowerOfTwo() {
            return Integer.bitCount(fragSize) == 1;
        }
    }

    /**
     * Frag processing. Frags arrive on the devmem I/O loop thread; the service hands them to a
     * parallel scheduler of {@code threads} workers, through a queue of at most {@code prefetch} frags
     * per connection, and releases each one once it is processed.
     *
     * @param threads        workers that checksum frags (each connection is processed in order on one)
     * @param prefetch       frags queued per connection between the I/O thread and its worker (the
     *                       demand the worker signals upstream; the token budget still bounds what is held)
     * @param maxConnections connections processed at once; more wait in the listen backlog
     */
    public record Processing(
            @DefaultValue("2") @Min(1) @Max(256) int threads,
            @DefaultValue("256") @Min(1) @Max(65536) int prefetch,
            @DefaultValue("16") @Min(1) @Max(4096) int maxConnections) {
    }

    /** Whether subscribing binds: an interface is named. */
    public boolean binds() {
        return interfaceName != null && !interfaceName.isBlank();
    }

    /** The frag size the token budget is derived with: the emulated NIC's buffer size, a page on Linux. */
    public int fragSize() {
        return backend == Backend.EMULATED && emulated != null ? emulated.fragSize() : 4096;
    }

    @AssertTrue(message = "token-budget exceeds what the dmabuf holds (dmabuf.size / frag size)")
    public boolean isTokenBudgetWithinDmabuf() {
        if (tokenBudget == null || !binds() || dmabuf == null || dmabuf.size() == null) {
            return true;
        }
        return tokenBudget <= dmabuf.size().toBytes() / fragSize();
    }

    @AssertTrue(message = "the emulated backend maps its dmabuf: dmabuf.source must be emulated or udmabuf")
    public boolean isDmabufSourceSupportedByEmulatedBackend() {
        return backend != Backend.EMULATED || dmabuf == null
                || dmabuf.source() == Dmabuf.Source.EMULATED || dmabuf.source() == Dmabuf.Source.UDMABUF;
    }

    @AssertTrue(message = "the linux backend cannot bind an emulated dmabuf: use udmabuf, dma-heap or cuda")
    public boolean isDmabufSourceSupportedByLinuxBackend() {
        return backend != Backend.LINUX || !binds() || dmabuf == null || dmabuf.source() != Dmabuf.Source.EMULATED;
    }

    @AssertTrue(message = "rx-queues must be below emulated.rx-queues")
    public boolean isRxQueuesOnTheEmulatedNic() {
        return backend != Backend.EMULATED || emulated == null || rxQueues == null
                || rxQueues.stream().allMatch(q -> q == null || q < emulated.rxQueues());
    }

    @AssertTrue(message = "nic-setup is for the linux backend with an interface to bind")
    public boolean isNicSetupApplicable() {
        return !nicSetup || (backend == Backend.LINUX && binds());
    }
}
