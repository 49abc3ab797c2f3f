package dev.devmem.spring.boot;

import dev.devmem.reactor.DevmemConnection;
import org.reactivestreams.Publisher;

/**
 * What the application does with each connection the listener accepts. Define one as a bean and the
 * auto-configuration starts a {@link DevmemListenerLifecycle} that accepts connections on
 * {@code devmem.listener.address}:{@code devmem.listener.port} while the application runs.
 *
 * <p>The returned publisher ends when the application is done with the connection; every frag it
 * received must be released by then (or be dropped inside {@link DevmemConnection#receive(java.util.function.Function)},
 * whose discard hook releases it). Typically:
 * <pre>{@code
 * @Bean
 * DevmemConnectionHandler handler(Scheduler workers) {
 *     return connection -> connection.receive(frags -> frags
 *             .publishOn(workers)                      // never compute on the devmem I/O thread
 *             .doOnNext(frag -> { consume(frag); frag.release(); })
 *             .then());
 * }
 * }</pre>
 * An error ends only that connection (it is logged and counted); the listener keeps accepting.
 */
@FunctionalInterface
public interface DevmemConnectionHandler {

    /** Handles one accepted connection; called on a devmem thread (setup or I/O loop), so it must not block. */
    Publisher<?> handle(DevmemConnection connection);
}
