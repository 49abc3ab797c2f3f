package dev.devmem.reactor.rx;

import reactor.core.scheduler.Scheduler;

/**
 * What a connection needs of its receiver's configuration, resolved once per subscription: the
 * connection never reads the public {@code DevmemReceiver} facade.
 *
 * @param credit          the binding's token budget, shared by all of its connections
 * @param budget          the most frags one connection may hold outstanding (the fairness limit, at
 *                        most the shared budget)
 * @param batchSize       the most frags one recvmsg may return
 * @param flushDelayNanos release flush delay
 * @param graceNanos      close grace period
 * @param timer           flush and grace timers
 * @param metrics         the receiver's meters
 */
record RxSettings(TokenCredit credit, int budget, int batchSize, long flushDelayNanos, long graceNanos, Scheduler timer,
                  Metrics metrics) {
}
