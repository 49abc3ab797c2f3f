package dev.devmem.reactor;

import dev.devmem.api.RxBindingSpec;

import java.time.Duration;
import java.util.List;

/**
 * What only a receiver configures, immutable; with the {@link TransportConfig} it is everything a
 * receive subscription is opened with.
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
record RxOptions(List<Integer> rxQueues, int fragSize, int tokenBudget, int connectionLimit, int batchSize, Duration releaseFlushDelay,
                 NicSetup nicSetup, int backlog) {

    static RxOptions defaults() {
        return new RxOptions(List.of(), DevmemReceiver.Defaults.FRAG_SIZE, 0, 0, DevmemReceiver.Defaults.BATCH_SIZE,
                DevmemReceiver.Defaults.RELEASE_FLUSH_DELAY, NicSetup.none(), DevmemReceiver.Defaults.BACKLOG);
    }

    RxOptions withRxQueues(List<Integer> v) {
        return new RxOptions(v, fragSize, tokenBudget, connectionLimit, batchSize, releaseFlushDelay, nicSetup, backlog);
    }

    RxOptions withFragSize(int v) {
        return new RxOptions(rxQueues, v, tokenBudget, connectionLimit, batchSize, releaseFlushDelay, nicSetup, backlog);
    }

    RxOptions withTokenBudget(int v) {
        return new RxOptions(rxQueues, fragSize, v, connectionLimit, batchSize, releaseFlushDelay, nicSetup, backlog);
    }

    RxOptions withConnectionLimit(int v) {
        return new RxOptions(rxQueues, fragSize, tokenBudget, v, batchSize, releaseFlushDelay, nicSetup, backlog);
    }

    RxOptions withBatchSize(int v) {
        return new RxOptions(rxQueues, fragSize, tokenBudget, connectionLimit, v, releaseFlushDelay, nicSetup, backlog);
    }

    RxOptions withReleaseFlushDelay(Duration v) {
        return new RxOptions(rxQueues, fragSize, tokenBudget, connectionLimit, batchSize, v, nicSetup, backlog);
    }

    RxOptions withNicSetup(NicSetup v) {
        return new RxOptions(rxQueues, fragSize, tokenBudget, connectionLimit, batchSize, releaseFlushDelay, v, backlog);
    }

    RxOptions withBacklog(int v) {
        return new RxOptions(rxQueues, fragSize, tokenBudget, connectionLimit, batchSize, releaseFlushDelay, nicSetup, v);
    }

    /** What subscribing binds, or {@code null} when nothing is configured to bind. */
    RxBindingSpec bindingSpec(TransportConfig t) {
        if (t.interfaceName() == null && t.dmabuf() == null && rxQueues.isEmpty()) {
            return null;
        }
        if (t.interfaceName() == null || t.dmabuf() == null || rxQueues.isEmpty()) {
            throw new IllegalStateException("binding needs interfaceName, rxQueues and dmabuf; have interface "
                    + t.interfaceName() + ", queues " + rxQueues + ", dmabuf " + t.dmabuf());
        }
        return new RxBindingSpec(t.interfaceName(), rxQueues, t.dmabuf());
    }
}
