package dev.devmem.reactor.rx;

import dev.devmem.api.DmabufSource;
import dev.devmem.api.RxBindingSpec;
import dev.devmem.reactor.NicSetup;

import java.time.Duration;
import java.util.List;

/**
 * What only a receiver configures, immutable; with the transport's resources it is everything a
 * receive subscription is opened with. The receiver's defaults are its own ({@code DevmemReceiver.Defaults}).
 *
 * @param rxQueues          the rx queues bound (empty: none)
 * @param fragSize          the frag size the default token budget is derived with
 * @param tokenBudget       frags outstanding at most over the binding's connections; 0: derived
 * @param connectionLimit   frags outstanding at most per connection (fairness); 0: the whole budget
 * @param batchSize         frags per recvmsg at most
 * @param releaseFlushDelay release flush delay
 * @param nicSetup          NIC preparation around the binding
 * @param backlog           the listen backlog
 */
public record RxOptions(List<Integer> rxQueues, int fragSize, int tokenBudget, int connectionLimit, int batchSize, Duration releaseFlushDelay,
                 NicSetup nicSetup, int backlog) {

    public RxOptions withRxQueues(List<Integer> v) {
        return new RxOptions(v, fragSize, tokenBudget, connectionLimit, batchSize, releaseFlushDelay, nicSetup, backlog);
    }

    public RxOptions withFragSize(int v) {
        return new RxOptions(rxQueues, v, tokenBudget, connectionLimit, batchSize, releaseFlushDelay, nicSetup, backlog);
    }

    public RxOptions withTokenBudget(int v) {
        return new RxOptions(rxQueues, fragSize, v, connectionLimit, batchSize, releaseFlushDelay, nicSetup, backlog);
    }

    public RxOptions withConnectionLimit(int v) {
        return new RxOptions(rxQueues, fragSize, tokenBudget, v, batchSize, releaseFlushDelay, nicSetup, backlog);
    }

    public RxOptions withBatchSize(int v) {
        return new RxOptions(rxQueues, fragSize, tokenBudget, connectionLimit, v, releaseFlushDelay, nicSetup, backlog);
    }

    public RxOptions withReleaseFlushDelay(Duration v) {
        return new RxOptions(rxQueues, fragSize, tokenBudget, connectionLimit, batchSize, v, nicSetup, backlog);
    }

    public RxOptions withNicSetup(NicSetup v) {
        return new RxOptions(rxQueues, fragSize, tokenBudget, connectionLimit, batchSize, releaseFlushDelay, v, backlog);
    }

    public RxOptions withBacklog(int v) {
        return new RxOptions(rxQueues, fragSize, tokenBudget, connectionLimit, batchSize, releaseFlushDelay, nicSetup, v);
    }

    /**
     * What subscribing binds with these queues, the interface and the dmabuf (both shared options of the
     * transport), or {@code null} when nothing is configured to bind.
     */
    public RxBindingSpec bindingSpec(String interfaceName, DmabufSource dmabuf) {
        if (interfaceName == null && dmabuf == null && rxQueues.isEmpty()) {
            return null;
        }
        if (interfaceName == null || dmabuf == null || rxQueues.isEmpty()) {
            throw new IllegalStateException("binding needs interfaceName, rxQueues and dmabuf; have interface "
                    + interfaceName + ", queues " + rxQueues + ", dmabuf " + dmabuf);
        }
        return new RxBindingSpec(interfaceName, rxQueues, dmabuf);
    }
}
