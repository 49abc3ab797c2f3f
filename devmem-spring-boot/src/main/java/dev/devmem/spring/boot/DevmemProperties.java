package dev.devmem.spring.boot;

import dev.devmem.api.DmabufSource;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;

/**
 * devmem.*: the backend, the DevmemReceiver and DevmemSender beans, and the
 * listener that serves a {@link DevmemConnectionHandler}. Bound once at startup; values are checked
 * when the beans are built ({@link DevmemBeanFactory}), and a wrong one stops the application with
 * the property named. The defaults are the library's own (DevmemReceiver.Defaults,
 * DevmemSender.Defaults) on the emulated devmem NIC.
 *
 * @param backend  where device memory and sockets come from: emulated (the emulated devmem NIC
 *                 over real loopback TCP; no hardware, no privileges) or linux (the running
 *                 kernel and a devmem-capable NIC; binding needs CAP_NET_ADMIN)
 * @param emulated the emulated devmem NIC, for backend=emulated
 * @param receiver the DevmemReceiver bean
 * @param sender   the DevmemSender bean
 * @param listener where the listener accepts connections for the application's
 *                 DevmemConnectionHandler bean, and how it stops
 * @param loops    I/O loops shared by the receiver and the sender
 */
@ConfigurationProperties("devmem")
public record DevmemProperties(
        @DefaultValue("emulated") Backend backend,
        @DefaultValue Emulated emulated,
        @DefaultValue Receiver receiver,
        @DefaultValue Sender sender,
        @DefaultValue Listener listener,
        @DefaultValue Loops loops) {

    /** Where device memory and sockets come from. */
    public enum Backend {
        /** The emulated devmem NIC (DevmemBackends.emulated(config)), over real loopback TCP. */
        EMULATED,
        /** The running Linux kernel (DevmemBackends.linux()), for a real devmem NIC. */
        LINUX
    }

    /**
     * The emulated devmem NIC (see docs/emulated-nic.md). Its interface is named like
     * devmem.receiver.interface-name; flows to devmem.listener.port are steered to the
     * receiver's first rx queue, the others spread by RSS over the queues below it, as on a NIC the
     * library set up.
     *
     * @param rxQueues               its rx queue count
     * @param fragSize               its rx buffer size: the largest DMABUF frag (a power of two)
     * @param headerSplitFailureRate the fraction of packets whose first bytes arrive in the linear area
     *                               (LINEAR frags), as when a real NIC fails to split the header
     * @param seed                   the seed of those failures, so that runs repeat
     */
    public record Emulated(
            @DefaultValue("4") int rxQueues,
            @DefaultValue("4096") int fragSize,
            @DefaultValue("0") double headerSplitFailureRate,
            @DefaultValue("1") long seed) {
    }

    /**
     * The DevmemReceiver bean: immutable configuration, nothing is bound until a subscription.
     *
     * @param enabled           whether to define the bean
     * @param name              the value of the name tag on the receiver's meters, so that two
     *                          receivers in one registry are told apart (low cardinality: a role, not an
     *                          address); empty: the interface name, or "default" without one
     * @param interfaceName     the netdev whose rx queues are bound to the dmabuf; blank: no binding (flows
     *                          steered to queues bound elsewhere, or plain TCP, which arrives as HOST frags)
     * @param rxQueues          the rx queues to bind; the flows must be steered to them
     * @param nicSetup          linux backend: let the library prepare the NIC before binding (header split,
     *                          ntuple, RSS over the other queues, a flow rule for the listen address to the
     *                          first rx queue) and undo it after; false: the NIC is already prepared
     * @param dmabuf            the device memory the rx queues write into
     * @param tokenBudget       the most frags one connection may hold unreleased (reading stops there until
     *                          frags come back); empty: three quarters of what the dmabuf holds
     * @param batchSize         the most frags one recvmsg may return
     * @param ioThreads         I/O loop threads per subscription (ignored with devmem.loops.threads)
     * @param releaseFlushDelay once releases pause this long, the released tokens still batched go back to
     *                          the kernel (SO_DEVMEM_DONTNEED); zero: at every loop pass
     * @param closeGracePeriod  after a receive ends, how long the frags it delivered stay valid unreleased;
     *                          then the socket closes and the kernel reclaims them (devmem.reclaimed.frags)
     * @param backlog           the listen backlog: connections waiting for an accept
     */
    public record Receiver(
            @DefaultValue("true") boolean enabled,
            String name,
            @DefaultValue("emu0") String interfaceName,
            @DefaultValue("3") List<Integer> rxQueues,
            @DefaultValue("false") boolean nicSetup,
            @DefaultValue Dmabuf dmabuf,
            Integer tokenBudget,
            @DefaultValue("256") int batchSize,
            @DefaultValue("1") int ioThreads,
            @DefaultValue("5ms") Duration releaseFlushDelay,
            @DefaultValue("2s") Duration closeGracePeriod,
            @DefaultValue("128") int backlog) {

        /** Whether subscribing binds: an interface is named. */
        public boolean binds() {
            return interfaceName != null && !interfaceName.isBlank();
        }
    }

    /**
     * The DevmemSender bean (devmem TX, Linux 6.16+; the emulated NIC has it too).
     *
     * @param enabled          whether to define the bean
     * @param name             the value of the name tag on the sender's meters, so that two senders in one
     *                         registry are told apart; empty: the interface name
     * @param interfaceName    the netdev the flows leave through (the TX binding's device)
     * @param dmabuf           the device memory to send from, bound for TX per subscription
     * @param copyFallback     when the kernel refuses devmem TX, send from host memory instead of failing
     * @param maxInFlight      the most bytes sent and not yet completed by the kernel
     * @param ioThreads        I/O loop threads per subscription (ignored with devmem.loops.threads)
     * @param closeGracePeriod after cancel or error, how long sends in flight may take to complete before the
     *                         socket closes anyway
     */
    public record Sender(
            @DefaultValue("true") boolean enabled,
            String name,
            @DefaultValue("emu0") String interfaceName,
            @DefaultValue Dmabuf dmabuf,
            @DefaultValue("false") boolean copyFallback,
            @DefaultValue("16MB") DataSize maxInFlight,
            @DefaultValue("1") int ioThreads,
            @DefaultValue("5s") Duration closeGracePeriod) {
    }

    /**
     * A dmabuf: device memory for rx queues or TX.
     *
     * @param source     emulated or udmabuf (host memory as a memfd; both backends can map it), dma-heap or
     *                   cuda (linux backend only); empty: emulated on the emulated backend, udmabuf on linux
     * @param size       its size; for RX it holds size / frag size buffers
     * @param heap       the DMA heap for dma-heap: a name under /dev/dma_heap
     * @param cudaDevice the GPU ordinal for cuda
     */
    public record Dmabuf(
            Source source,
            @DefaultValue("64MB") DataSize size,
            @DefaultValue("system") String heap,
            @DefaultValue("0") int cudaDevice) {

        /** A dmabuf exporter; see {@link DmabufSource}. */
        public enum Source { EMULATED, UDMABUF, DMA_HEAP, CUDA }

        /** The source, or the backend's default when none is set. */
        public Source sourceOn(Backend backend) {
            return source != null ? source : backend == Backend.LINUX ? Source.UDMABUF : Source.EMULATED;
        }

        /** The library's description of this dmabuf on {@code backend}; the size must be positive. */
        public DmabufSource toDmabufSource(Backend backend) {
            long bytes = size.toBytes();
            return switch (sourceOn(backend)) {
                case EMULATED -> DmabufSource.emulated(bytes);
                case UDMABUF -> DmabufSource.udmabuf(bytes);
                case DMA_HEAP -> DmabufSource.dmaHeap(heap, bytes);
                case CUDA -> DmabufSource.cuda(cudaDevice, bytes);
            };
        }
    }

    /**
     * The listener, started when the application defines a DevmemConnectionHandler bean: it
     * accepts connections with the receiver while the application runs and hands each to the handler.
     *
     * @param address         the address to accept on; with a real NIC, the address of the interface the
     *                        flows arrive on
     * @param port            the TCP port
     * @param maxConnections  connections handled at once; more wait in the listen backlog
     * @param shutdownTimeout on shutdown, how long to wait for the connections to hand every frag back and
     *                        close; connections still open then are cancelled and the kernel reclaims their
     *                        frags after the receiver's close grace period
     */
    public record Listener(
            @DefaultValue("127.0.0.1") String address,
            @DefaultValue("5201") int port,
            @DefaultValue("16") int maxConnections,
            @DefaultValue("10s") Duration shutdownTimeout) {

        public InetSocketAddress socketAddress() {
            return new InetSocketAddress(address, port);
        }
    }

    /**
     * I/O loops shared by the receiver and the sender (a DevmemLoops bean closed with the
     * context), instead of loops started per subscription.
     *
     * @param threads shared loop threads; 0: none, every subscription starts its own
     *                (devmem.receiver.io-threads, devmem.sender.io-threads)
     */
    public record Loops(@DefaultValue("0") int threads) {
    }
}
